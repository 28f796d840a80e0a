/** Pure orchestration decisions: Plan's input rules, the run summary, error causes, and the marker formats. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipeline } from "#config/loader.ts";
import { markerText, tableMetrics } from "#domain/markers.ts";
import { markerPrefix } from "#domain/s3-layout.ts";
import { InvalidInputError, planRun } from "#domain/run-plan.ts";
import { causeMessage, failureCause, summarizeRun } from "#domain/run-summary.ts";
import type { TableResult } from "#shared/steps.ts";

const pipeline = await loadPipeline(path.join(import.meta.dirname, "..", "..", "config"), "demo", {});
const plan = (input: Record<string, unknown>) =>
  planRun({ input: { pipeline: "demo", ...input }, pipeline, executionName: "exec-1", startedAt: "2025-09-12T14:30:22.135Z" });

describe("Plan", () => {
  it("defaults to every table, full mode, the pipeline's completion bucket and concurrency", () => {
    const { run, tables } = plan({});
    expect(tables.map((t) => t.table)).toEqual(["mrsync_demo.settle_orders", "mrsync_demo.type_coverage", "mrsync_demo.merchants"]);
    expect(run).toMatchObject({ executionId: "exec-1", mode: "full", limit: null, completionBucket: "mrsync-local-completion", maxParallelTables: 1 });
    expect(plan({ completion_bucket: "other-bucket", tables: ["mrsync_demo.merchants"] }).run.completionBucket).toBe("other-bucket");
  });

  it("refuses unknown tables naming the ones that exist, and a limit on redshift_only", () => {
    expect(() => plan({ tables: ["mrsync_demo.nope"] })).toThrow(InvalidInputError);
    expect(() => plan({ tables: ["mrsync_demo.nope"] })).toThrow(/no table mrsync_demo\.nope .*its tables: mrsync_demo\.settle_orders/);
    expect(() => plan({ mode: "redshift_only", limit: 10 })).toThrow(/drop limit/);
    expect(() => plan({ mode: "reconcile", limit: 10 })).toThrow(/reconcile compares whole tables: drop limit/);
  });
});

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
const failed = (table: string): TableResult => ({
  table,
  status: "failed",
  rows_processed: 0,
  files_created: 0,
  bytes_written: 0,
  rows_loaded: 0,
  duration_seconds: 0,
  error_type: "TableSchemaError",
  error_message: "x".repeat(5_000),
  failed_at: "2025-09-12T14:31:00.000Z",
});
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

describe("completion markers", () => {
  it("use the seed's folder and text lines", () => {
    expect(markerPrefix("us_dw_hybrid_v1_2", "settlement.settle_orders", "2025-09-12T14:30:22.135Z")).toBe(
      "completion_markers/us_dw_hybrid_v1_2/settlement.settle_orders/20250912_143022/",
    );
    expect(
      markerText({
        pipeline: "us_dw_hybrid_v1_2",
        table: "settlement.settle_orders",
        runStartedAt: "2025-09-12T14:30:22.135Z",
        durationSeconds: 45.234,
        rows: 15000,
      }),
    ).toBe(
      "SYNC_COMPLETED\nPipeline: us_dw_hybrid_v1_2\nTable: settlement.settle_orders\nStatus: SUCCESS\nTimestamp: 2025-09-12T14:30:22Z\nDuration: 45.23s\nRows: 15000\n",
    );
    const metrics = tableMetrics({
      pipeline: "p",
      table: "t",
      rows: 15000,
      chunks: 3,
      extractMs: 32_800,
      files: 3,
      bytes: 2_048_000,
      rowsLoaded: 15000,
      filesLoaded: 3,
      loadMs: 12_400,
      loads: 1,
    });
    expect(metrics.mysql_metrics).toEqual({ rows_extracted: 15000, batches_processed: 3, extraction_duration_seconds: 32.8, avg_rows_per_second: 457.3 });
    expect(metrics.redshift_metrics).toEqual({
      rows_loaded: 15000,
      files_loaded: 3,
      load_duration_seconds: 12.4,
      copy_statements_executed: 1,
      avg_load_rate_rows_per_second: 1209.7,
    });
    expect(metrics.s3_metrics).toMatchObject({ files_created: 3, total_size_bytes: 2_048_000, total_size_mb: 1.95 });
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

describe("the Airflow example", () => {
  it("waits on exactly the marker layout the pipeline writes", async () => {
    const { readFile } = await import("node:fs/promises");
    const dag = await readFile(path.join(import.meta.dirname, "..", "..", "examples", "airflow", "settlement_sync_dag.py"), "utf8");
    expect(dag).toContain('MARKER_PREFIX = f"completion_markers/{PIPELINE}/{TABLE}/{RUN_DAY}_"');
    expect(dag).toContain('bucket_key=f"{MARKER_PREFIX}*/completion_marker.txt"');
    expect(dag).toContain('f"{folder}/execution_metadata.json"');
    // The same path the writer produces, for the DAG's pipeline and table on a run day.
    const written = `${markerPrefix("us_dw_hybrid_v1_2", "settlement.settle_orders", "2025-09-12T14:30:22Z")}completion_marker.txt`;
    expect(written).toMatch(/^completion_markers\/us_dw_hybrid_v1_2\/settlement\.settle_orders\/20250912_[0-9]{6}\/completion_marker\.txt$/);
  });
});
