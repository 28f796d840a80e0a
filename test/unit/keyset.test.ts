import { describe, expect, it } from "vitest";
import { cursorProblems, lookbackSecondsOf } from "#domain/cdc/cursor-rules.ts";
import { bindValue, compareKnown, keyText, tupleBound, type KeyColumn } from "#domain/cdc/keyset.ts";
import type { SourceColumn, TableSchema } from "#domain/table-schema.ts";
import {
  beginRun,
  clearValidated,
  commitChunk,
  cursorOf,
  CursorKeyChangedError,
  failShortWindow,
  newWatermark,
  WatermarkSchema,
  type BeginRun,
} from "#domain/watermark.ts";

const int: KeyColumn = { source: "emp_no", name: "emp_no", kind: "integer" };
const date: KeyColumn = { source: "from_date", name: "from_date", kind: "temporal" };
const amount: KeyColumn = { source: "amount", name: "amount", kind: "decimal", decimal: { precision: 38, scale: 10 } };
const code: KeyColumn = { source: "code", name: "code", kind: "string" };
const raw: KeyColumn = { source: "raw", name: "raw", kind: "binary" };

describe("tuple bounds", () => {
  it("expand a three-column comparison with the leading column's range first, parameters in order", () => {
    const after = tupleBound("mysql", "after", [int, date, code], ["10001", "1986-06-26", "ab "]);
    expect(after.sql).toBe("`emp_no` >= ? AND (`emp_no` > ? OR (`emp_no` = ? AND (`from_date` > ? OR (`from_date` = ? AND `code` > ?))))");
    expect(after.params).toEqual([10001n, 10001n, 10001n, "1986-06-26", "1986-06-26", "ab "]);
    expect(tupleBound("mysql", "upTo", [int, date], ["9", "2000-01-01"]).sql).toBe("`emp_no` <= ? AND (`emp_no` < ? OR (`emp_no` = ? AND `from_date` <= ?))");
    expect(tupleBound("mysql", "from", [int], ["-5"])).toEqual({ sql: "`emp_no` >= ?", params: [-5n] });
  });

  it("bind each kind as it compares: DECIMAL through CAST, binary as bytes; a value of another kind is refused", () => {
    expect(tupleBound("mysql", "after", [amount], ["12345678901234567890.0000000001"])).toEqual({
      sql: "`amount` > CAST(? AS DECIMAL(38,10))",
      params: ["12345678901234567890.0000000001"],
    });
    expect(bindValue(raw, "0x00ff10")).toEqual(Buffer.from([0, 255, 16]));
    expect(() => bindValue(raw, "00ff")).toThrow("is not 0x-prefixed hex");
    expect(() => bindValue(amount, "1e5")).toThrow("is not a decimal");
    expect(() => tupleBound("redshift", "after", [code], ["a"])).toThrow("do not order in Redshift as in MySQL");
  });

  it("turn raw row values into the cursor's text, binary as hex (bytes that are not UTF-8 survive)", () => {
    expect(keyText(raw, Buffer.from([0xff, 0xfe, 0x00]))).toBe("0xfffe00");
    expect(keyText(code, Buffer.from("Ünïcode  ", "utf8"))).toBe("Ünïcode  ");
    expect(keyText(int, Buffer.from("18446744073709551615"))).toBe("18446744073709551615");
  });

  it("order tuples in JS only where that is certain", () => {
    expect(compareKnown([int, date], ["9", "2000-01-01"], ["10", "1999-01-01"])).toBe(-1);
    expect(compareKnown([int, date], ["10", "2000-01-02"], ["10", "2000-01-01"])).toBe(1);
    expect(compareKnown([int, code], ["10", "abc"], ["10", "abc"])).toBe(0);
    expect(compareKnown([int, code], ["10", "abc"], ["10", "ABD"]), "collation decides").toBeUndefined();
  });
});

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
    expect(lookbackSecondsOf(rule("hybrid"), schemaOf(["a"]))).toBe(300);
    expect(lookbackSecondsOf(rule("timestamp_only"), schemaOf([], []))).toBe(0);
    expect(lookbackSecondsOf(rule("id_only"), schemaOf(["a"]))).toBe(0);
    expect(lookbackSecondsOf(rule("hybrid", { lookback_seconds: 0 }), schemaOf(["a"]))).toBe(0);
  });
});

describe("watermark windows and key tuples", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const start = (runId: string, extra: Partial<BeginRun> = {}): BeginRun => ({
    runId,
    strategy: "id_only",
    ceiling: { timestamp: null, key: ["100", "2000-01-01"] },
    now,
    leaseSeconds: 60,
    lookbackSeconds: 0,
    restart: false,
    cursorColumns: ["emp_no", "from_date"],
    ...extra,
  });
  const commit = (runId: string, key: string[], rows: number, done = false) => ({
    runId,
    cursor: { timestamp: null, key },
    rows,
    file: `f-${key.join("-")}`,
    zeroDates: {},
    done,
    windowEnd: done ? { timestamp: null, key: ["100", "2000-01-01"] } : undefined,
    schemaKey: "schema-1",
    now,
    leaseSeconds: 60,
  });

  it("keep a window across a failed run and its resume; list it for validation when it ends", () => {
    let w = beginRun(newWatermark("p", "s.t", "id_only", now), start("a"));
    w = commitChunk(w, commit("a", ["50", "1999-01-01"], 40));
    expect(w.last_processed_id).toBe("50");
    expect(w.last_processed_key).toEqual(["50", "1999-01-01"]);
    w = { ...w, mysql_state: { ...w.mysql_state, status: "failed", lease_expires_at: null } };
    w = beginRun(w, start("b"));
    expect(w.mysql_state).toMatchObject({ window_start: { timestamp: null, key: null }, window_rows: 40 });
    w = commitChunk(w, commit("b", ["100", "2000-01-01"], 60, true));
    expect(w.s3_state.pending_validation).toEqual([
      { start: { timestamp: null, key: null }, end: { timestamp: null, key: ["100", "2000-01-01"] }, rows: 100, run_id: "b", schema_key: "schema-1" },
    ]);
    // Closed: a run resuming after a failed load starts the next window where this one ended.
    expect(w.mysql_state).toMatchObject({ window_start: { timestamp: null, key: ["100", "2000-01-01"] }, window_rows: 0 });
    const next = beginRun({ ...w, mysql_state: { ...w.mysql_state, lease_expires_at: null } }, start("c"));
    expect(next.mysql_state).toMatchObject({ window_start: { timestamp: null, key: ["100", "2000-01-01"] }, window_rows: 0 });
    expect(clearValidated(next, next.s3_state.pending_validation, now).s3_state.pending_validation).toEqual([]);
  });

  it("send a short window back to its start (tables that merge), and refuse a cursor written for other key columns", () => {
    let w = beginRun(newWatermark("p", "s.t", "id_only", now), start("a"));
    w = commitChunk(w, commit("a", ["50", "1999-01-01"], 40));
    const short = failShortWindow(w, "a", "ExtractionShortfallError: …", true, now);
    expect(short.mysql_state).toMatchObject({ status: "failed", window_rows: 0, lease_expires_at: null });
    expect(cursorOf(short)).toEqual({ timestamp: null, key: null });
    expect(cursorOf(failShortWindow(w, "a", "x", false, now)).key).toEqual(["50", "1999-01-01"]);
    expect(() => beginRun({ ...w, mysql_state: { ...w.mysql_state, lease_expires_at: null } }, start("z", { cursorColumns: ["emp_no"] }))).toThrow(
      CursorKeyChangedError,
    );
  });

  it("read a watermark written before tuples: its last_processed_id is a one-column key", () => {
    const old = WatermarkSchema.parse({
      ...newWatermark("p", "s.t", "id_only", now),
      last_processed_key: undefined,
      last_processed_id: "9007199254740993",
      mysql_state: {
        status: "success",
        total_rows: 1,
        last_session_rows: 1,
        run_id: "r",
        ceiling: { timestamp: null, id: "9007199254740993" },
        last_error: null,
      },
      s3_state: { backup_s3_files: [], processed_s3_files: [] },
    });
    expect(cursorOf(old)).toEqual({ timestamp: null, key: ["9007199254740993"] });
    expect(beginRun(old, start("n", { cursorColumns: ["id"] })).last_processed_key).toEqual(["9007199254740993"]);
  });
});
