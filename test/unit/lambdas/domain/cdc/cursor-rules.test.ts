/** lambdas/domain/cdc/cursor-rules.ts: the cursors refused before a row is read, and the lookback a table gets. */
import { describe, expect, it } from "vitest";
import { cursorProblems, lookbackSecondsOf } from "#domain/cdc/cursor-rules.ts";
import type { SourceColumn, TableSchema } from "#domain/table-schema.ts";

const column = (name: string, nullable = false): SourceColumn => ({
  name,
  dataType: "int",
  columnType: "int(11)",
  nullable,
  numericPrecision: 10,
  numericScale: 0,
  datetimePrecision: null,
  characterMaximumLength: null,
});
const schemaOf = (cursorKey: string[], primaryKey = cursorKey): TableSchema => ({ table: "s.t", columns: [], primaryKey, cursorKey });
const rule = (strategy: "hybrid" | "id_only" | "timestamp_only", extra: { lookback_seconds?: number } = {}) => ({
  key: "s.t",
  cdc_strategy: strategy,
  cdc_timestamp_column: strategy === "id_only" ? undefined : "ts",
  cdc_id_column: undefined,
  primary_key: undefined,
  ...extra,
});

describe("cursor rules", () => {
  const columns = [column("a"), column("b"), column("ts"), column("n", true)];
  it("accept a key some unique NOT NULL index covers, the timestamp included for hybrid", () => {
    expect(cursorProblems(rule("id_only"), schemaOf(["a", "b"]), columns, [{ name: "PRIMARY", columns: ["a", "b"] }])).toEqual([]);
    expect(cursorProblems(rule("hybrid"), schemaOf(["b"], []), columns, [{ name: "uq_ts_b", columns: ["ts", "b"] }])).toEqual([]);
    expect(cursorProblems(rule("id_only"), schemaOf(["a", "b"]), columns, [{ name: "uq_a", columns: ["a"] }]), "a unique subset is unique").toEqual([]);
  });

  it("refuse a key only a unique index with a nullable column covers, and lookback on a keyless table", () => {
    const [problem] = cursorProblems(rule("id_only"), schemaOf(["n"], []), columns, [{ name: "uq_n", columns: ["n"] }]);
    expect(problem).toContain("(uq_n (n) allows NULLs, and NULLs are never equal)");
    expect(cursorProblems(rule("timestamp_only", { lookback_seconds: 5 }), schemaOf([], []), columns, [])[0]).toMatch(/lookback_seconds 5 re-reads rows/);
  });

  it("default the lookback to 300 s only where re-read rows merge", () => {
    // The timestamp strategies (those that settle) look back by default; the others have no timestamp to go by.
    const timestamped = { settles: true };
    expect(lookbackSecondsOf(rule("hybrid"), timestamped, schemaOf(["a"]))).toBe(300);
    expect(lookbackSecondsOf(rule("timestamp_only"), timestamped, schemaOf([], []))).toBe(0);
    expect(lookbackSecondsOf(rule("id_only"), {}, schemaOf(["a"]))).toBe(0);
    expect(lookbackSecondsOf(rule("hybrid", { lookback_seconds: 0 }), timestamped, schemaOf(["a"]))).toBe(0);
  });
});
