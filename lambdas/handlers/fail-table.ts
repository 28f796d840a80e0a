/** FailTable: the table's error recorded in its watermark (lease released); the other tables go on. */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { addMeters, STEP_TRANSITIONS } from "#domain/cost.ts";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { failTableStep } from "#services/fail-table.ts";
import { stepHandler } from "#shared/handler.ts";
import { spentHere } from "#shared/meter.ts";
import { logger, metrics } from "#shared/powertools.ts";
import { emptyMeter, FailTableInputSchema } from "#shared/steps.ts";
import { METRICS } from "#shared/metrics.ts";

export const handler = stepHandler("FailTable", FailTableInputSchema, async ({ run, table, resume, progress, error }) => {
  const meterNow = () => addMeters(progress?.meter ?? emptyMeter(), spentHere(STEP_TRANSITIONS.failTable));
  const result = await failTableStep(loadContext(await pipelineNamed(run.pipeline), table), run, resume, progress, error, meterNow);
  metrics.addMetric(METRICS.SyncSuccess, MetricUnit.Count, 0);
  metrics.addMetric(METRICS.SyncFailure, MetricUnit.Count, 1);
  logger.error("table failed", { errorType: result.error_type, message: result.error_message });
  return result;
});
