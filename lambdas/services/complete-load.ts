/**
 * CompleteLoad: after the load's statement ended, its files move from pending to processed in the watermark (the
 * files read back from the load's manifest), or Redshift's error is thrown — and a serialization conflict sends the
 * same files to be submitted again.
 */
import type { StatementState } from "#adapters/redshift-data.ts";
import { RedshiftStatementError, statementEnded } from "#adapters/redshift-data.ts";
import { appliedRows } from "./ledger.ts";
import { filesOf } from "#domain/manifest.ts";
import { markLoaded, recordFailedLoad, renewLease } from "#domain/watermark.ts";
import type { Load, Progress } from "#shared/steps.ts";
import type { LoadContext } from "./load.ts";
import { LEASE_SECONDS, pendingFiles, updateWatermark } from "./sync-context.ts";

/** The load's files, read back from its manifest (the state carries its key, not the list). */
export async function loadFiles(context: LoadContext, load: Pick<Load, "manifestKey">): Promise<string[]> {
  const { value } = await context.s3.getJson(context.bucket, load.manifestKey);
  return filesOf(context.bucket, value, `s3://${context.bucket}/${load.manifestKey}`);
}

/**
 * After the load's statement ended: FINISHED moves its files from pending to processed in the watermark; FAILED or
 * ABORTED throws Redshift's error and leaves the files pending. Returns the rows the load inserted.
 */
export async function completeLoad(context: LoadContext, submission: Load, state?: StatementState): Promise<number> {
  const files = await loadFiles(context, submission);
  let rows: number;
  if (submission.statementId === null) {
    rows = (await appliedRows(context, submission.loadId)) ?? 0;
  } else {
    const final = state ?? (await context.redshift.describe(submission.statementId));
    if (!statementEnded(final)) throw new Error(`load ${submission.loadId}: statement ${final.id} is still ${final.status}; poll until it ends`);
    if (final.status !== "FINISHED") {
      await updateWatermark(context, (current) => recordFailedLoad(current, submission.loadId, final.id, context.now()));
      throw new RedshiftStatementError(final);
    }
    rows = Math.max(0, final.subStatementRows[submission.insertIndex] ?? 0);
  }
  await updateWatermark(context, (current) => markLoaded(current, files, rows, submission.loadId, context.now()));
  return rows;
}

/**
 * A load another transaction made Redshift abort (serializable isolation, ERROR 1023) is submitted again — its failed
 * attempt is recorded, so the next submission gets a new ClientToken — at most this many times per run.
 */
export const MAX_LOAD_CONFLICTS = 3;
const isSerializableConflict = (error: unknown) => error instanceof RedshiftStatementError && /Serializable isolation violation|\b1023\b/i.test(error.message);

/** After the load's statement ended: its files move to processed (or Redshift's error is thrown); the lease is renewed. */
export async function completeLoadStep(context: LoadContext, progress: Progress, load: Load): Promise<Progress> {
  let rows: number;
  try {
    rows = await completeLoad(context, load);
  } catch (error) {
    if (!isSerializableConflict(error) || progress.loadConflicts >= MAX_LOAD_CONFLICTS) throw error;
    // Nothing of it was applied and its files are still pending: MoreToLoad? submits them again.
    return { ...progress, loadConflicts: progress.loadConflicts + 1, pendingFiles: await pendingFiles(context) };
  }
  const now = context.now();
  const watermark = await updateWatermark(context, (current) => renewLease(current, progress.runId, now, LEASE_SECONDS));
  return {
    ...progress,
    rowsLoaded: progress.rowsLoaded + rows,
    filesLoaded: progress.filesLoaded + load.files,
    loads: progress.loads + 1,
    loadMs: progress.loadMs + Math.max(0, now.getTime() - Date.parse(load.submittedAt)),
    pendingFiles: watermark.s3_state.backup_s3_files.length,
  };
}
