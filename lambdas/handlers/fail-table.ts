/** FailTable: the table's error recorded in its watermark (lease released); the other tables go on. */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { addMeters, emptyMeter, estimateCost, pricingOf, STEP_TRANSITIONS } from "#domain/cost.ts";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { failTableStep } from "#services/fail-table.ts";
import { stepHandler } from "#shared/handler.ts";
import { spentHere } from "#shared/meter.ts";
import { logger, metrics } from "#shared/powertools.ts";
import { FailTableInputSchema } from "#shared/steps.ts";
import { METRICS } from "#shared/metrics.ts";

export const handler = stepHandler("FailTable", FailTableInputSchema, async ({ run, table, resume, progress, error }) => {
  const pipeline = await pipelineNamed(run.pipeline);
  const costNow = () => {
    const meter = addMeters(progress?.meter ?? emptyMeter(), spentHere(STEP_TRANSITIONS.failTable));
    return { meter, cost: estimateCost(meter, pricingOf(pipeline)) };
  };
  const result = await failTableStep(loadContext(pipeline, table), run, resume, progress, error, costNow);
  metrics.addMetric(METRICS.SyncSuccess, MetricUnit.Count, 0);
  metrics.addMetric(METRICS.SyncFailure, MetricUnit.Count, 1);
  logger.error("table failed", { errorType: result.error_type, message: result.error_message });
  return result;
});
