/** SubmitLoad: manifest, schema evolution and the load's BatchExecuteStatement (the state machine polls it). */
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { submitLoadStep } from "#services/submit-load.ts";
import { deadlineOf, stepHandler } from "#shared/handler.ts";
import { ProgressInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("SubmitLoad", ProgressInputSchema, async ({ run, table }, context) =>
  submitLoadStep(loadContext(await pipelineNamed(run.pipeline), table, deadlineOf(context))),
);
