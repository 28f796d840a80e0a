/** CompleteLoad: after the load's statement ended, its files move to processed (or Redshift's error is thrown). */
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { completeLoadStep } from "#services/complete-load.ts";
import { deadlineOf, stepHandler } from "#shared/handler.ts";
import { CompleteLoadInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("CompleteLoad", CompleteLoadInputSchema, async ({ run, table, progress, load }, context) =>
  completeLoadStep(loadContext(await pipelineNamed(run.pipeline), table, deadlineOf(context)), progress, load),
);
