/** CompleteLoad: after the load's statement ended, its files move to processed (or Redshift's error is thrown). */
import { addMeters, STEP_TRANSITIONS } from "#domain/cost.ts";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { completeLoadStep } from "#services/complete-load.ts";
import { deadlineOf, stepHandler } from "#shared/handler.ts";
import { spentHere } from "#shared/meter.ts";
import { CompleteLoadInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("CompleteLoad", CompleteLoadInputSchema, async ({ run, table, progress, load }, context) => {
  const next = await completeLoadStep(loadContext(await pipelineNamed(run.pipeline), table, deadlineOf(context)), progress, load);
  // The load's meter took the progress' over at SubmitLoad; the warehouse was busy from submission to now.
  const window = load.statementId === null ? undefined : ([Date.parse(load.submittedAt), Date.now()] as const);
  return { ...next, meter: addMeters(load.meter ?? progress.meter, spentHere(STEP_TRANSITIONS.completeLoad, window)) };
});
