/** SubmitLoad: manifest, schema evolution and the load's BatchExecuteStatement (AwaitLoad waits for it). */
import { addMeters, STEP_TRANSITIONS } from "#domain/cost.ts";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { submitLoadStep } from "#services/submit-load.ts";
import { deadlineOf, stepHandler } from "#shared/handler.ts";
import { spentHere } from "#shared/meter.ts";
import { ProgressInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("SubmitLoad", ProgressInputSchema, async ({ run, table, progress }, context) => {
  const load = await submitLoadStep(loadContext(await pipelineNamed(run.pipeline), table, deadlineOf(context)));
  return { ...load, meter: addMeters(progress.meter, spentHere(STEP_TRANSITIONS.submitLoad)) };
});
