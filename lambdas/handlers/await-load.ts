/** AwaitLoad: the load's statement status once it ends (long polls), or when this call's wait runs out. */
import { redshiftData, statementEnded } from "#adapters/redshift-data.ts";
import { addMeters, STEP_TRANSITIONS } from "#domain/cost.ts";
import { pipelineNamed } from "#services/environment.ts";
import { awaitLoadStep } from "#services/await-load.ts";
import { deadlineOf, stepHandler } from "#shared/handler.ts";
import { spentHere } from "#shared/meter.ts";
import { emptyMeter, AwaitLoadInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("AwaitLoad", AwaitLoadInputSchema, async ({ run, load }, context) => {
  const deadline = deadlineOf(context);
  const status = await awaitLoadStep(redshiftData((await pipelineNamed(run.pipeline)).target, deadline), load, deadline);
  const spent = spentHere(STEP_TRANSITIONS.awaitLoad(statementEnded({ status })));
  return { ...load, status, meter: addMeters(load.meter ?? emptyMeter(), spent) };
});
