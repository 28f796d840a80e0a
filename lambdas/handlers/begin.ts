/** Begin: captures the table's ceiling and takes its lease (or picks up a table continued from a parent execution). */
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { beginStep } from "#services/begin.ts";
import { stepHandler } from "#shared/handler.ts";
import { BeginInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("Begin", BeginInputSchema, async ({ run, table, resume }) =>
  beginStep(loadContext(await pipelineNamed(run.pipeline), table), run, resume),
);
