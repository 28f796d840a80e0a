/** Finish: validation, the table's lease released, completion markers, and the table's line of the summary. */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { addMeters, estimateCost, pricingOf, STEP_TRANSITIONS } from "#domain/cost.ts";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { finishStep } from "#services/finish.ts";
import { deadlineOf, stepHandler } from "#shared/handler.ts";
import { spentHere, usedWarehouse } from "#shared/meter.ts";
import { logger, metrics } from "#shared/powertools.ts";
import { FinishInputSchema } from "#shared/steps.ts";
import { METRICS } from "#shared/metrics.ts";

const debugMarkers = () => process.env.DEBUG_COMPLETION_MARKERS === "1";

export const handler = stepHandler("Finish", FinishInputSchema, async ({ run, table, progress, load }, context) => {
  const log = (message: string, details?: Record<string, unknown>) => {
    if (debugMarkers()) logger.info(message, details ?? {});
  };
  const pipeline = await pipelineNamed(run.pipeline);
  // After a load of no files (Submitted? → Finish) the load's meter is the table's latest; after CompleteLoad, the progress'.
  const before = load !== null && load !== undefined && load.files === 0 && load.meter !== undefined ? load.meter : progress.meter;
  // Validation's counts keep the warehouse busy too, when it sent any.
  const startedAt = Date.now();
  const costNow = () => {
    const meter = addMeters(before, spentHere(STEP_TRANSITIONS.finish, usedWarehouse() ? [startedAt, Date.now()] : undefined));
    return { meter, cost: estimateCost(meter, run.pricing ?? pricingOf(pipeline)) };
  };
  const { result, cost } = await finishStep(loadContext(pipeline, table, deadlineOf(context)), run, progress, log, costNow);
  metrics.addMetric(METRICS.TableCostUsd, MetricUnit.NoUnit, cost.total_usd);
  metrics.addMetric(METRICS.SyncDuration, MetricUnit.Seconds, result.duration_seconds);
  metrics.addMetric(METRICS.SyncSuccess, MetricUnit.Count, 1);
  metrics.addMetric(METRICS.LateRows, MetricUnit.Count, result.late_rows ?? 0);
  metrics.addMetric(METRICS.WindowsReread, MetricUnit.Count, result.windows_reread ?? 0);
  logger.info("table synced", { rows: result.rows_processed, files: result.files_created, rowsLoaded: result.rows_loaded, markers: result.markers });
  return result;
});
