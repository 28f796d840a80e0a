import { describe, expect, it } from "vitest";
import { countProblems, nullProblems, windowPredicate } from "#domain/validation.ts";

describe("validation rules", () => {
  it("tell a lost row from a row a live source moved out of the window", () => {
    // Updated after the ceiling: MySQL's window lost it, Redshift still holds its earlier version — benign.
    expect(countProblems("s.t", "merge", { mysql: 9, extracted: 10, redshift: 10, duplicateKeys: 0 })).toEqual([]);
    expect(countProblems("s.t", "merge", { mysql: 10, extracted: 9, redshift: 9, duplicateKeys: 0 })).toEqual([
      "s.t: 1 row(s) of the run's window are in MySQL but not in Redshift (MySQL 10, extracted 9, Redshift 9)",
    ]);
    expect(countProblems("s.t", "append", { mysql: 10, extracted: 11, redshift: 11, duplicateKeys: 0 })[0]).toMatch(/1 more row\(s\) .* — duplicates/);
    expect(countProblems("s.t", "merge", { mysql: 10, extracted: 10, redshift: 10, duplicateKeys: 2 })[0]).toMatch(/2 primary key value\(s\) appear more than once/);
    expect(countProblems("s.t", "replace", { mysql: undefined, extracted: 50, redshift: 49, duplicateKeys: 0 })[0]).toMatch(/holds 49 rows after the replace, the run extracted 50/);
  });

  it("build the same window for MySQL and Redshift", () => {
    const start = { timestamp: "2025-01-01 00:00:00.000001", id: "7" };
    const ceiling = { timestamp: "2025-02-01 00:00:00.000000", id: "99" };
    expect(windowPredicate("mysql", "hybrid", { timestamp: "updated_at", id: "id" }, start, ceiling)).toBe(
      "(`updated_at` > '2025-01-01 00:00:00.000001' OR (`updated_at` = '2025-01-01 00:00:00.000001' AND `id` > 7)) AND (`updated_at` < '2025-02-01 00:00:00.000000' OR (`updated_at` = '2025-02-01 00:00:00.000000' AND `id` <= 99))",
    );
    expect(windowPredicate("redshift", "id_only", { timestamp: undefined, id: "id" }, { timestamp: null, id: null }, ceiling)).toBe('"id" <= 99');
    expect(windowPredicate("redshift", "full_sync", { timestamp: undefined, id: undefined }, start, ceiling)).toBeUndefined();
    expect(() => windowPredicate("mysql", "id_only", { timestamp: undefined, id: "id" }, { timestamp: null, id: "1; DROP" }, ceiling)).toThrow("not an integer");
  });

  it("flag columns over max_null_percentage", () => {
    expect(nullProblems("s.t", 4, { a: 4, b: 1 }, 50)).toEqual(["s.t: column b is 75.00% NULL in the loaded rows (max_null_percentage: 50)"]);
    expect(nullProblems("s.t", 0, { a: 0 }, 0)).toEqual([]);
  });
});
