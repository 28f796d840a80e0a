/** ExtractChunk: the next keyset chunk into one Parquet file, committed with the cursor (mode reconcile: the comparison and its repair file). */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { addMeters, STEP_TRANSITIONS } from "#domain/cost.ts";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { extractChunkStep } from "#services/extract-chunk.ts";
import { deadlineOf, stepHandler } from "#shared/handler.ts";
import { spentHere } from "#shared/meter.ts";
import { metrics } from "#shared/powertools.ts";
import { ProgressInputSchema } from "#shared/steps.ts";
import { METRICS } from "#shared/metrics.ts";

export const handler = stepHandler("ExtractChunk", ProgressInputSchema, async ({ run, table, progress, range }, context) => {
  const ctx = loadContext(await pipelineNamed(run.pipeline), table, deadlineOf(context));
  const next = await extractChunkStep(ctx, run, progress, deadlineOf(context), range);
  metrics.addMetric(METRICS.RowsProcessed, MetricUnit.Count, next.chunk.rows);
  metrics.addMetric(METRICS.BytesWritten, MetricUnit.Bytes, next.chunk.bytes);
  metrics.addMetric(METRICS.ChunkDuration, MetricUnit.Milliseconds, next.chunk.durationMs);
  const found = next.progress.reconcile;
  if (found !== undefined) metrics.addMetric(METRICS.ReconcileDifferences, MetricUnit.Count, found.missing + found.extra + found.different);
  return { ...next.progress, meter: addMeters(next.progress.meter, spentHere(STEP_TRANSITIONS.extractChunk(next.progress.done))) };
});
