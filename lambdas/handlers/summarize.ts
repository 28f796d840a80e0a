/** Summarize: the run summary (the execution's output) with its cost estimate, and whether the execution must end failed. */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { addMeters, EXECUTION_TRANSITIONS, estimateCost, FALLBACK_PRICING } from "#domain/cost.ts";
import { failureCause, summarizeRun } from "#domain/run-summary.ts";
import { stepHandler } from "#shared/handler.ts";
import { spentHere } from "#shared/meter.ts";
import { metrics } from "#shared/powertools.ts";
import { METRICS } from "#shared/metrics.ts";
import { emptyMeter, SummarizeInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("Summarize", SummarizeInputSchema, ({ run, results }) => {
  // The tables' meters, Plan's and this step's, and the execution's own states (Entry?, Plan, Tables, Summarize, Failed?, the end).
  const meter = [run.planMeter ?? emptyMeter(), ...results.map((r) => r.meter ?? emptyMeter())].reduce(addMeters, spentHere(EXECUTION_TRANSITIONS));
  const pricing = run.pricing ?? FALLBACK_PRICING;
  // Each table's line priced here (the Map's lines carry meters, not estimates: 256 KiB for every table's line).
  const priced = results.map((r) => (r.meter === undefined ? r : { ...r, cost: estimateCost(r.meter, pricing) }));
  const summary = summarizeRun(run, priced, new Date(), estimateCost(meter, pricing));
  metrics.addMetric(METRICS.RunCostUsd, MetricUnit.NoUnit, summary.cost?.total_usd ?? 0);
  const failed = summary.status !== "success";
  return Promise.resolve({ summary, failed, cause: failed ? failureCause(summary) : null });
});
