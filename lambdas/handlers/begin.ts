/** Begin: captures the table's ceiling and takes its lease (or picks up a table continued from a parent execution). */
import { addMeters, STEP_TRANSITIONS } from "#domain/cost.ts";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { beginStep } from "#services/begin.ts";
import { stepHandler } from "#shared/handler.ts";
import { spentHere } from "#shared/meter.ts";
import { BeginInputSchema } from "#shared/steps.ts";

export const handler = stepHandler("Begin", BeginInputSchema, async ({ run, table, resume }) => {
  const progress = await beginStep(loadContext(await pipelineNamed(run.pipeline), table), run, resume);
  const transitions = STEP_TRANSITIONS.begin({
    resumed: resume !== null,
    loadInFlight: resume?.load !== null && resume?.load !== undefined,
    done: progress.done,
  });
  return { ...progress, meter: addMeters(progress.meter, spentHere(transitions)) };
});
