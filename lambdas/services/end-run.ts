/**
 * The end of a table's run: release its lease (Finish, after the load or in backup_only mode), or record the
 * failure and release (FailTable) — the cursor and the files pending load stay, so the next run resumes.
 */
import { failRun, finishRun, releaseLease } from "#domain/watermark.ts";
import { watermarkIdentity, type TableContext } from "./sync-context.ts";

export async function releaseRun(context: TableContext, runId: string): Promise<void> {
  await context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) => releaseLease(current, runId, context.now()));
}

/** Finish: the run reached its ceiling; its table is released and its extraction marked successful. */
export async function finishTableRun(context: TableContext, runId: string): Promise<void> {
  await context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) => finishRun(current, runId, context.now()));
}

export async function failTableRun(context: TableContext, runId: string, error: string): Promise<void> {
  await context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) => failRun(current, runId, error, context.now()));
}
