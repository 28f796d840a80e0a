/**
 * Writes a table's completion markers to the completion bucket: execution_metadata.json, table_metrics.json, then
 * completion_marker.txt — strictly in that order, each write finished before the next starts, so a consumer that
 * sees the marker can read the other two. DEBUG_COMPLETION_MARKERS=1 logs every step.
 */
import type { S3Store } from "#adapters/s3.ts";
import { executionMetadata, markerText, tableMetrics, type TableMetricsInput } from "#domain/markers.ts";
import { markerPrefix } from "#domain/s3-layout.ts";
import type { RunSummary } from "#domain/run-summary.ts";

export type MarkerLog = (message: string, details?: Record<string, unknown>) => void;

export type MarkerRequest = {
  bucket: string;
  summary: RunSummary;
  metrics: TableMetricsInput;
  runStartedAt: string;
  durationSeconds: number;
};

export async function writeCompletionMarkers(s3: S3Store, request: MarkerRequest, log: MarkerLog): Promise<string> {
  const { bucket, metrics } = request;
  const prefix = markerPrefix(metrics.pipeline, metrics.table, request.runStartedAt);
  log("completion markers: writing", { bucket, prefix });
  const files: [string, string, string][] = [
    ["execution_metadata.json", `${JSON.stringify(executionMetadata(request.summary), null, 2)}\n`, "application/json"],
    ["table_metrics.json", `${JSON.stringify(tableMetrics(metrics), null, 2)}\n`, "application/json"],
    [
      "completion_marker.txt",
      markerText({
        pipeline: metrics.pipeline,
        table: metrics.table,
        runStartedAt: request.runStartedAt,
        durationSeconds: request.durationSeconds,
        rows: metrics.rows,
      }),
      "text/plain; charset=utf-8",
    ],
  ];
  for (const [name, body, contentType] of files) {
    const key = `${prefix}${name}`;
    log("completion markers: put", { key, bytes: Buffer.byteLength(body) });
    await s3.putText(bucket, key, body, contentType);
    log("completion markers: written", { key });
  }
  return `s3://${bucket}/${prefix}`;
}
