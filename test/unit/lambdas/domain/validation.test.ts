import { describe, expect, it } from "vitest";
import type { KeyColumn } from "#domain/cdc/keyset.ts";
import { comparableWindow, countProblems, nullProblems, sourceWindow } from "#domain/validation.ts";

describe("validation rules", () => {
  it("tell a lost row from a row a live source moved out of the window", () => {
    // Updated after the ceiling: MySQL's window lost it, Redshift still holds its earlier version — benign.
    expect(countProblems("s.t", "merge", { mysql: 9, extracted: 10, redshift: 10, duplicateKeys: 0 })).toEqual([]);
    expect(countProblems("s.t", "merge", { mysql: 10, extracted: 9, redshift: 9, duplicateKeys: 0 })).toEqual([
      "s.t: 1 row(s) of the run's window are in MySQL but not in Redshift (MySQL 10, extracted 9, Redshift 9)",
    ]);
    expect(countProblems("s.t", "append", { mysql: 10, extracted: 11, redshift: 11, duplicateKeys: 0 })[0]).toMatch(/1 more row\(s\) .* — duplicates/);
    expect(countProblems("s.t", "merge", { mysql: 10, extracted: 10, redshift: 10, duplicateKeys: 2 })[0]).toMatch(
      /2 primary key value\(s\) appear more than once/,
    );
    expect(countProblems("s.t", "replace", { mysql: undefined, extracted: 50, redshift: 49, duplicateKeys: 0 })[0]).toMatch(
      /holds 49 rows after the replace, the run extracted 50/,
    );
  });

  it("build the same window for MySQL and Redshift; a wider one where Redshift orders the key differently", () => {
    const ts: KeyColumn = { source: "updated_at", name: "updated_at", kind: "temporal" };
    const id: KeyColumn = { source: "id", name: "id", kind: "integer" };
    const code: KeyColumn = { source: "Code", name: "code", kind: "string" };
    const start = { timestamp: "2025-01-01 00:00:00.000001", key: ["7"] };
    const ceiling = { timestamp: "2025-02-01 00:00:00.000000", key: ["99"] };
    const hybrid = comparableWindow("hybrid", { timestamp: ts, key: [id] }, { start, end: ceiling });
    expect(hybrid?.exact).toBe(true);
    expect(hybrid?.redshift).toBe(
      `"updated_at" >= '2025-01-01 00:00:00.000001' AND ("updated_at" > '2025-01-01 00:00:00.000001' OR ("updated_at" = '2025-01-01 00:00:00.000001' AND "id" > 7)) AND ` +
        `"updated_at" <= '2025-02-01 00:00:00.000000' AND ("updated_at" < '2025-02-01 00:00:00.000000' OR ("updated_at" = '2025-02-01 00:00:00.000000' AND "id" <= 99))`,
    );
    expect(sourceWindow("id_only", { timestamp: undefined, key: [id] }, { start: null, end: ceiling })).toEqual({ sql: "`id` <= ?", params: [99n] });
    // full_sync pages on its key from the start each run: its window is counted before loading, up to the ceiling.
    expect(sourceWindow("full_sync", { timestamp: undefined, key: [id] }, { start: null, end: ceiling })).toEqual({ sql: "`id` <= ?", params: [99n] });
    expect(comparableWindow("full_sync", { timestamp: undefined, key: [id] }, { start: null, end: ceiling })).toBeUndefined();
    expect(sourceWindow("custom_sql", { timestamp: undefined, key: [id] }, { start, end: ceiling })).toBeUndefined();
    expect(() => sourceWindow("id_only", { timestamp: undefined, key: [id] }, { start: { timestamp: null, key: ["1; DROP"] }, end: ceiling })).toThrow(
      "not an integer",
    );

    // A case-insensitive string tie-break: Redshift counts the whole timestamps, MySQL the same from the start and exactly up to the ceiling.
    const wide = comparableWindow(
      "hybrid",
      { timestamp: ts, key: [code] },
      { start: { timestamp: start.timestamp, key: ["abc "] }, end: { timestamp: ceiling.timestamp, key: ["XyZ"] } },
    );
    expect(wide?.exact).toBe(false);
    expect(wide?.redshift).toBe(`"updated_at" >= '2025-01-01 00:00:00.000001' AND "updated_at" <= '2025-02-01 00:00:00.000000'`);
    expect(wide?.mysql.sql).toBe("`updated_at` >= ? AND `updated_at` <= ? AND (`updated_at` < ? OR (`updated_at` = ? AND `Code` <= ?))");
    expect(wide?.mysql.params.at(-1)).toBe("XyZ");
    // A string key alone: nothing to bound Redshift by; MySQL counts up to the ceiling.
    const whole = comparableWindow(
      "id_only",
      { timestamp: undefined, key: [code] },
      { start: { timestamp: null, key: ["b"] }, end: { timestamp: null, key: ["z"] } },
    );
    expect(whole).toEqual({ mysql: { sql: "`Code` <= ?", params: ["z"] }, redshift: undefined, exact: false });
  });

  it("flag columns over max_null_percentage", () => {
    expect(nullProblems("s.t", 4, { a: 4, b: 1 }, 50)).toEqual(["s.t: column b is 75.00% NULL in the loaded rows (max_null_percentage: 50)"]);
    expect(nullProblems("s.t", 0, { a: 0 }, 0)).toEqual([]);
  });
});
