/** Finish: validation, the table's lease released, completion markers, and the table's line of the summary. */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { finishStep } from "#services/finish.ts";
import { deadlineOf, stepHandler } from "#shared/handler.ts";
import { logger, metrics } from "#shared/powertools.ts";
import { ProgressInputSchema } from "#shared/steps.ts";
import { METRICS } from "#shared/metrics.ts";

const debugMarkers = () => process.env.DEBUG_COMPLETION_MARKERS === "1";

export const handler = stepHandler("Finish", ProgressInputSchema, async ({ run, table, progress }, context) => {
  const log = (message: string, details?: Record<string, unknown>) => {
    if (debugMarkers()) logger.info(message, details ?? {});
  };
  const { result } = await finishStep(loadContext(await pipelineNamed(run.pipeline), table, deadlineOf(context)), run, progress, log);
  metrics.addMetric(METRICS.SyncDuration, MetricUnit.Seconds, result.duration_seconds);
  metrics.addMetric(METRICS.SyncSuccess, MetricUnit.Count, 1);
  metrics.addMetric(METRICS.LateRows, MetricUnit.Count, result.late_rows ?? 0);
  metrics.addMetric(METRICS.WindowsReread, MetricUnit.Count, result.windows_reread ?? 0);
  logger.info("table synced", { rows: result.rows_processed, files: result.files_created, rowsLoaded: result.rows_loaded, markers: result.markers });
  return result;
});
