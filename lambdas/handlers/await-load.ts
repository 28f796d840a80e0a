/** AwaitLoad: the load's statement status once it ends (long polls), or when this call's wait runs out. */
import { redshiftData } from "#adapters/redshift-data.ts";
import { pipelineNamed } from "#services/environment.ts";
import { awaitLoadStep } from "#services/await-load.ts";
import { deadlineOf, stepHandler } from "#shared/handler.ts";
import { AwaitLoadInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("AwaitLoad", AwaitLoadInputSchema, async ({ run, load }, context) => {
  const deadline = deadlineOf(context);
  return awaitLoadStep(redshiftData((await pipelineNamed(run.pipeline)).target, deadline), load, deadline);
});
