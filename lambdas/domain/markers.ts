/**
 * Pure: completion markers (docs/design.md §4, the seed's layout and fields). A table that synced successfully gets a
 * folder `completion_markers/<pipeline>/<table>/<YYYYMMDD_HHMMSS>/` (the run's start, UTC; keys: s3-layout.ts) holding
 * execution_metadata.json, table_metrics.json and completion_marker.txt — the last written last, so a sensor on
 * it (`.../{{ ds_nodash }}_*\/completion_marker.txt`) only fires when the other two are readable.
 */
import type { RunSummary } from "./run-summary.ts";

export const MARKER_FILES = ["execution_metadata.json", "table_metrics.json", "completion_marker.txt"] as const;

/** Where mode reconcile leaves its report: beside the completion markers of the run's stamp. */
export const RECONCILE_REPORT = "reconcile_report.json";

export type TableMetricsInput = {
  pipeline: string;
  table: string;
  rows: number;
  chunks: number;
  extractMs: number;
  files: number;
  bytes: number;
  rowsLoaded: number;
  filesLoaded: number;
  loadMs: number;
  loads: number;
};

const rate = (rows: number, ms: number) => (ms <= 0 ? 0 : Math.round((rows / (ms / 1000)) * 10) / 10);
const round2 = (n: number) => Math.round(n * 100) / 100;

export function tableMetrics(m: TableMetricsInput) {
  return {
    table_name: m.table,
    pipeline: m.pipeline,
    mysql_metrics: {
      rows_extracted: m.rows,
      batches_processed: m.chunks,
      extraction_duration_seconds: round2(m.extractMs / 1000),
      avg_rows_per_second: rate(m.rows, m.extractMs),
    },
    s3_metrics: {
      files_created: m.files,
      total_size_bytes: m.bytes,
      total_size_mb: round2(m.bytes / (1024 * 1024)),
      // Parquet bytes per extracted row; the seed's ratio needs the uncompressed size, which nobody measures here.
      bytes_per_row: m.rows === 0 ? 0 : round2(m.bytes / m.rows),
    },
    redshift_metrics: {
      rows_loaded: m.rowsLoaded,
      files_loaded: m.filesLoaded,
      load_duration_seconds: round2(m.loadMs / 1000),
      copy_statements_executed: m.loads,
      avg_load_rate_rows_per_second: rate(m.rowsLoaded, m.loadMs),
    },
  };
}

/** completion_marker.txt: the seed's seven lines. */
export function markerText(m: { pipeline: string; table: string; runStartedAt: string; durationSeconds: number; rows: number }): string {
  const timestamp = `${new Date(m.runStartedAt).toISOString().slice(0, 19)}Z`;
  return (
    [
      "SYNC_COMPLETED",
      `Pipeline: ${m.pipeline}`,
      `Table: ${m.table}`,
      "Status: SUCCESS",
      `Timestamp: ${timestamp}`,
      `Duration: ${m.durationSeconds.toFixed(2)}s`,
      `Rows: ${m.rows}`,
    ].join("\n") + "\n"
  );
}

/** execution_metadata.json: the run summary of the one table the marker is for (the run's other tables may not be done). */
export function executionMetadata(summary: RunSummary): Omit<RunSummary, "results"> {
  return Object.fromEntries(Object.entries(summary).filter(([key]) => key !== "results")) as Omit<RunSummary, "results">;
}
