/** SubmitLoad: manifest, schema evolution and the load's BatchExecuteStatement (the state machine polls it). */
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { submitNext } from "#services/table-run.ts";
import { deadlineOf, stepHandler } from "#shared/handler.ts";
import { ProgressInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("SubmitLoad", ProgressInputSchema, async ({ run, table }, context) =>
  submitNext(loadContext(await pipelineNamed(run.pipeline), table, deadlineOf(context))),
);
