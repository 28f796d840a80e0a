/** Plan: validates the execution input and resolves the run (pipeline, tables, mode, budgets). */
import { z } from "zod";
import { InvalidInputError, planRun } from "#domain/run-plan.ts";
import { loadedConfig, pipelineNamed } from "#services/environment.ts";
import { stepHandler } from "#shared/handler.ts";
import { spentHere } from "#shared/meter.ts";
import { ExecutionInputSchema, PlanInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("Plan", PlanInputSchema, async ({ execution }) => {
  const parsed = ExecutionInputSchema.safeParse(execution.Input);
  if (!parsed.success) {
    throw new InvalidInputError(
      `execution input: ${z.prettifyError(parsed.error).replaceAll("\n", " ")}. Expected {"pipeline": "...", "tables": ["schema.table"], "mode": "full|backup_only|redshift_only", "limit": 10000, "completion_bucket": "..."}`,
    );
  }
  const pipeline = await pipelineNamed(parsed.data.pipeline);
  // The stack grants marker writes to the completion buckets of the config it was deployed with (this one).
  const writableCompletionBuckets = (await loadedConfig()).pipelines.flatMap((p) => (p.completionBucket === undefined ? [] : [p.completionBucket]));
  const plan = planRun({ input: parsed.data, pipeline, executionName: execution.Name, startedAt: execution.StartTime, writableCompletionBuckets });
  // Plan's own invocation, for the run's cost (its transition is one of the execution's own, counted by Summarize).
  return { ...plan, run: { ...plan.run, planMeter: spentHere(0) } };
});
