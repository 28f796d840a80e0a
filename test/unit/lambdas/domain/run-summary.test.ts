/** lambdas/domain/run-summary.ts: the run summary of every table's result, and the failure cause Step Functions carries. */
import { describe, expect, it } from "vitest";
import { estimateCost, MAX_LOAD_WINDOWS } from "#domain/cost.ts";
import { boundedError, causeMessage, errorCharsFor, failureCause, summarizeRun } from "#domain/run-summary.ts";
import type { Meter } from "#shared/steps.ts";
import type { TableResult } from "#shared/steps.ts";
import { failedLine } from "../../../support/table-results.ts";

const ok = (table: string, rows: number): TableResult => ({
  table,
  status: "success",
  rows_processed: rows,
  files_created: 1,
  bytes_written: 10,
  rows_loaded: rows,
  duration_seconds: 1.5,
  completed_at: "2025-09-12T14:31:00.000Z",
});
const failed = (table: string): TableResult => failedLine(table, "TableSchemaError", "x".repeat(5_000), "2025-09-12T14:31:00.000Z");
const run = { executionId: "sync_1", startedAt: "2025-09-12T14:30:22.135Z", pipeline: "demo", mode: "full" as const, tablesRequested: ["a.b", "c.d"] };

describe("run summary", () => {
  it("has the seed's shape and statuses", () => {
    const now = new Date("2025-09-12T14:31:07.565Z");
    const all = summarizeRun(run, [ok("a.b", 10), ok("c.d", 5)], now);
    expect(all).toMatchObject({
      execution_id: "sync_1",
      status: "success",
      total_tables: 2,
      duration_seconds: 45.43,
      summary: { success_count: 2, failure_count: 0, total_rows_processed: 15, total_files_created: 2 },
    });
    expect(all.table_results["a.b"]).toEqual({
      status: "success",
      rows_processed: 10,
      files_created: 1,
      bytes_written: 10,
      rows_loaded: 10,
      duration_seconds: 1.5,
      completed_at: "2025-09-12T14:31:00.000Z",
    });
    const partial = summarizeRun(run, [ok("a.b", 10), { ...failed("c.d"), rows_processed: 7, files_created: 2, rows_loaded: 4 }], now);
    expect(partial.status).toBe("partial_success");
    // Every table's work counts, the failed table's labelled.
    expect(partial.summary).toMatchObject({
      total_rows_processed: 17,
      total_files_created: 3,
      total_rows_loaded: 14,
      failed_tables_rows_processed: 7,
      failed_tables_files_created: 2,
      failed_tables_rows_loaded: 4,
    });
    expect(partial.table_results["c.d"]?.error_message).toHaveLength(2_000);
    expect(partial.table_results["c.d"]?.error_message).toMatch(/cut; the whole error: mrsync watermark get\)$/);
    expect(summarizeRun(run, [failed("a.b"), failed("c.d")], now).status).toBe("failed");
    const cause = failureCause(partial);
    expect(cause.split("\n")[0]).toBe("1 of 2 table(s) failed: c.d (TableSchemaError)");
    expect(cause.length).toBeLessThan(32_768);
  });

  it("reads the message out of Lambda's and a child execution's causes", () => {
    expect(causeMessage(JSON.stringify({ errorType: "E", errorMessage: "boom", trace: [] }))).toBe("boom");
    expect(causeMessage(JSON.stringify({ Status: "FAILED", Cause: JSON.stringify({ errorMessage: "inner" }) }))).toBe("inner");
    expect(causeMessage("plain text")).toBe("plain text");
    expect(causeMessage(undefined)).toBe("no cause given");
  });
});

describe("failure cause", () => {
  it("stays within Step Functions' 32,768 characters however many tables ran", () => {
    const many = Array.from({ length: 300 }, (_, i) => (i % 50 === 0 ? failed(`s.t${i}`) : ok(`s.t${i}`, i)));
    const cause = failureCause(summarizeRun({ ...run, tablesRequested: many.map((r) => r.table) }, many, new Date()));
    expect(cause.length).toBeLessThanOrEqual(32_768);
    const [head = "", json = "{}"] = cause.split("\n");
    expect(head).toMatch(/^6 of 300 table\(s\) failed: s\.t0 \(TableSchemaError\)/);
    expect(Object.keys((JSON.parse(json) as { table_results: object }).table_results)).toHaveLength(6);
  });
});

describe("payload bounds (Step Functions fails a state output over 256 KiB, uncatchably)", () => {
  const KIB_256 = 256 * 1024;
  const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

  it("a run's lines stay far under 256 KiB however many tables fail with however long a message", () => {
    // The history budget allows at most ~190 tables in one execution (run-plan.ts).
    for (const tables of [1, 40, 190]) {
      // Each line with the largest meter it can carry (MAX_LOAD_WINDOWS windows, long numbers).
      const meter: Meter = {
        transitions: 123_456,
        invocations: 12_345,
        lambdaGbMs: 987_654_321.5,
        s3Writes: 123_456,
        s3Reads: 123_456,
        loadWindows: Array.from({ length: MAX_LOAD_WINDOWS }, (_, w): [number, number] => [1_764_857_700_000 + w * 1e6, 1_764_857_799_999 + w * 1e6]),
      };
      const lines = Array.from({ length: tables }, (_, i) => ({
        ...failed(`settlement.table_${String(i)}`),
        error_message: boundedError("e".repeat(1_000_000), errorCharsFor(tables)),
        meter,
      }));
      // As Summarize prices them.
      const priced = lines.map((line) => ({ ...line, cost: estimateCost(line.meter, { baseRpu: 128 }) }));
      const summary = summarizeRun({ ...run, tablesRequested: lines.map((r) => r.table) }, priced, new Date(), estimateCost(meter, { baseRpu: 128 }));
      // What the Map returns (every line), and what Summarize returns (the summary and the cause).
      // 190 lines with the largest meters: ~740 bytes each, ~140 KB, 54 % of the limit.
      expect(bytes(lines), `${String(tables)} tables: the Map's results`).toBeLessThan(KIB_256 * 0.6);
      expect(bytes({ summary, failed: true, cause: failureCause(summary) }), `${String(tables)} tables: Summarize's output`).toBeLessThan(KIB_256 * 0.8);
    }
  });

  it("the summary lists each table once; only a one-table run (a child a parent reads) repeats its line in results", () => {
    const two = summarizeRun(run, [ok("a.b", 1), ok("c.d", 2)], new Date());
    expect(two.results).toBeUndefined();
    const one = summarizeRun({ ...run, tablesRequested: ["a.b"] }, [failed("a.b")], new Date());
    expect(one.results?.[0]).toMatchObject({ table: "a.b", status: "failed", error_type: "TableSchemaError" });
    expect(one.results?.[0]?.error_message?.length).toBeLessThanOrEqual(2_000);
  });
});
