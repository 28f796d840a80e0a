/** lambdas/domain/markers.ts: the completion marker's text and the table metrics downstream consumers read. */
import { describe, expect, it } from "vitest";
import { markerText, tableMetrics } from "#domain/markers.ts";
import { markerPrefix } from "#domain/s3-layout.ts";

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
