/** Summarize: the run summary (the execution's output) and whether the execution must end failed. */
import { failureCause, summarizeRun } from "#domain/run-summary.ts";
import { stepHandler } from "#shared/handler.ts";
import { SummarizeInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("Summarize", SummarizeInputSchema, async ({ run, results }) => {
  const summary = summarizeRun(run, results, new Date());
  const failed = summary.status !== "success";
  return Promise.resolve({ summary, failed, cause: failed ? failureCause(summary) : null });
});
