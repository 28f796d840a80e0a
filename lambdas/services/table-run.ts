/**
 * The state machine's steps for one table, each a short function over the engine's services: Begin, ExtractChunk,
 * SubmitLoad, CompleteLoad, Finish, FailTable. They take and return the step contracts (#shared/steps.ts) — counts
 * and keys only — and never catch an error to return it: Step Functions retries and catches by error name.
 */
import { RedshiftStatementError } from "#adapters/redshift-data.ts";
import { markerPrefix, RECONCILE_REPORT } from "#domain/markers.ts";
import { causeMessage, summarizeRun } from "#domain/run-summary.ts";
import { clearValidated, renewLease } from "#domain/watermark.ts";
import type { Load, Progress, Resume, Run, TableResult } from "#shared/steps.ts";
import { begin } from "./begin.ts";
import { failTableRun, finishTableRun } from "./end-run.ts";
import { extractChunk, type ChunkResult } from "./extract-chunk.ts";
import { completeLoad, submitLoad, type LoadContext } from "./load.ts";
import { writeCompletionMarkers, type MarkerLog } from "./markers.ts";
import { reconcileAndStage } from "./reconcile-repair.ts";
import { LEASE_SECONDS, watermarkIdentity } from "./sync-context.ts";
import { validateWindows, type ValidationReport } from "./validate.ts";

const NOWHERE = { timestamp: null, key: null };

/** The run id of a table: the root execution's name, kept by child executions that continue it. */
export const runIdOf = (run: Run, resume: Resume | null) => resume?.progress.runId ?? run.executionId;

async function pendingFiles(context: LoadContext): Promise<number> {
  return (await context.watermarks.get(context.watermarkKey))?.watermark.s3_state.backup_s3_files.length ?? 0;
}

export async function beginTable(context: LoadContext, run: Run, resume: Resume | null): Promise<Progress> {
  if (resume !== null) return { ...resume.progress, chunksHere: 0 };
  const now = context.now().toISOString();
  const fresh = { rows: 0, files: 0, bytes: 0, chunks: 0, chunksHere: 0, extractMs: 0, rowsLoaded: 0, filesLoaded: 0, loadConflicts: 0, loads: 0, loadMs: 0 };
  const runId = runIdOf(run, resume);
  if (run.mode === "redshift_only") {
    return { ...fresh, runId, schemaKey: "", tableStartedAt: now, start: NOWHERE, ceiling: NOWHERE, done: true, pendingFiles: await pendingFiles(context) };
  }
  // Reconcile takes no lease and moves no cursor: its one "chunk" compares the table and stages the repairs.
  if (run.mode === "reconcile") return { ...fresh, runId, schemaKey: "", tableStartedAt: now, start: NOWHERE, ceiling: NOWHERE, done: false, pendingFiles: 0 };
  const started = await begin(context, runId);
  return { ...fresh, runId, schemaKey: started.schemaKey, tableStartedAt: now, start: started.cursor, ceiling: started.ceiling, done: started.done, pendingFiles: 0 };
}

export async function extractNext(context: LoadContext, run: Run, progress: Progress, deadline: number): Promise<{ progress: Progress; chunk: ChunkResult }> {
  if (run.mode === "reconcile") return reconcileNext(context, progress);
  const chunk = await extractChunk(context, { runId: progress.runId, schemaKey: progress.schemaKey, limit: run.limit ?? undefined, deadline });
  return {
    chunk,
    progress: {
      ...progress,
      done: chunk.done,
      // The watermark's count, not a sum: a chunk whose reply was lost (and re-run) is counted once.
      rows: chunk.runRows,
      files: progress.files + chunk.files,
      bytes: progress.bytes + chunk.bytes,
      chunks: progress.chunks + 1,
      chunksHere: progress.chunksHere + 1,
      extractMs: progress.extractMs + chunk.durationMs,
    },
  };
}

/** Mode reconcile: the table compared whole, its differences deleted or staged; the loads that follow merge them. */
async function reconcileNext(context: LoadContext, progress: Progress): Promise<{ progress: Progress; chunk: ChunkResult }> {
  const started = Date.now();
  const { counts, staged } = await reconcileAndStage(context);
  const durationMs = Date.now() - started;
  const chunk: ChunkResult = { done: true, cursor: NOWHERE, rows: counts.reloaded, files: staged.file === undefined ? 0 : 1, bytes: 0, durationMs, file: staged.file, runRows: counts.reloaded };
  return {
    chunk,
    progress: {
      ...progress,
      done: true,
      rows: counts.reloaded,
      files: chunk.files,
      chunks: progress.chunks + 1,
      chunksHere: progress.chunksHere + 1,
      extractMs: progress.extractMs + durationMs,
      pendingFiles: await pendingFiles(context),
      reconcile: counts,
    },
  };
}

/** Submits the next load of pending files; `files: 0` when nothing is pending. */
export async function submitNext(context: LoadContext): Promise<Load> {
  const submittedAt = context.now().toISOString();
  const submission = await submitLoad(context);
  if (submission === undefined) return { loadId: "", manifestKey: "", schemaKey: "", statementId: null, insertIndex: -1, files: 0, submittedAt };
  return {
    loadId: submission.loadId,
    manifestKey: submission.manifestKey,
    schemaKey: submission.schemaKey,
    statementId: submission.statementId ?? null,
    insertIndex: submission.insertIndex,
    files: submission.files.length,
    submittedAt,
  };
}

/** The load's files, read back from its manifest (the state carries its key, not the list). */
async function manifestFiles(context: LoadContext, load: Load): Promise<string[]> {
  const { value } = await context.s3.getJson(context.bucket, load.manifestKey);
  const entries = (value as { entries?: { url?: string }[] }).entries ?? [];
  const prefix = `s3://${context.bucket}/`;
  return entries.map((entry) => entry.url ?? "").map((url) => (url.startsWith(prefix) ? url.slice(prefix.length) : url));
}

/**
 * A load another transaction made Redshift abort (serializable isolation, ERROR 1023) is submitted again — its failed
 * attempt is recorded, so the next submission gets a new ClientToken — at most this many times per run.
 */
export const MAX_LOAD_CONFLICTS = 3;
const isSerializableConflict = (error: unknown) => error instanceof RedshiftStatementError && /Serializable isolation violation|\b1023\b/i.test(error.message);

/** After the load's statement ended: its files move to processed (or Redshift's error is thrown); the lease is renewed. */
export async function completeNext(context: LoadContext, progress: Progress, load: Load): Promise<Progress> {
  const files = await manifestFiles(context, load);
  let rows: number;
  try {
    rows = await completeLoad(context, { ...load, files, statementId: load.statementId ?? undefined });
  } catch (error) {
    if (!isSerializableConflict(error) || progress.loadConflicts >= MAX_LOAD_CONFLICTS) throw error;
    // Nothing of it was applied and its files are still pending: MoreToLoad? submits them again.
    return { ...progress, loadConflicts: progress.loadConflicts + 1, pendingFiles: await pendingFiles(context) };
  }
  const now = context.now();
  const watermark = await context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) =>
    renewLease(current, progress.runId, now, LEASE_SECONDS),
  );
  return {
    ...progress,
    rowsLoaded: progress.rowsLoaded + rows,
    filesLoaded: progress.filesLoaded + files.length,
    loads: progress.loads + 1,
    loadMs: progress.loadMs + Math.max(0, now.getTime() - Date.parse(load.submittedAt)),
    pendingFiles: watermark.s3_state.backup_s3_files.length,
  };
}

const durationSeconds = (from: string, to: Date) => Math.max(0, Math.round(to.getTime() - Date.parse(from)) / 1000);

/** One line for the summary and the markers: what the validation compared. */
function validationLine(report: ValidationReport, rowsLoaded: number, extractionOpen: boolean): { line: string; complete: boolean } {
  const c = report.counts;
  if (report.windows === 0) {
    if (rowsLoaded > 0 && extractionOpen) return { line: "pending: the loaded rows belong to an extraction window not finished yet; validated when it ends", complete: false };
    return { line: "nothing loaded to validate", complete: true };
  }
  if (c === undefined) return { line: `not countable (${report.windows} window(s); custom_sql or row_count_check off)`, complete: true };
  return { line: `passed: ${report.windows} window(s), MySQL ${c.mysql ?? "n/a"}, extracted ${c.extracted}, Redshift ${c.redshift}`, complete: true };
}

/**
 * Validates every extracted window whose files are now loaded — this run's, and those a failed or earlier run left
 * (resume, redshift_only) —, releases the table and writes the completion markers. Nothing says success unless the
 * loaded rows were validated: a failed validation throws (the windows stay listed, so the next load validates them
 * again), and rows whose window is still open get no marker.
 */
export async function finishTable(context: LoadContext, run: Run, progress: Progress, log: MarkerLog): Promise<{ result: TableResult; validated: boolean }> {
  let validation: { line: string; complete: boolean } | undefined;
  if (run.mode !== "backup_only") {
    const watermark = (await context.watermarks.get(context.watermarkKey))?.watermark;
    const windows = watermark?.s3_state.pending_validation ?? [];
    const report = await validateWindows(context, windows);
    if (windows.length > 0) {
      await context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) => clearValidated(current, windows, context.now()));
    }
    const open = watermark !== undefined && watermark.mysql_state.status !== "success" && watermark.mysql_state.window_rows > 0;
    validation = validationLine(report, progress.rowsLoaded, open);
  }
  const validated = validation !== undefined && validation.complete;
  // redshift_only and reconcile hold no lease to release.
  if (run.mode !== "redshift_only" && run.mode !== "reconcile") await finishTableRun(context, progress.runId);
  const now = context.now();
  const result: TableResult = {
    table: context.table.key,
    status: "success",
    rows_processed: progress.rows,
    files_created: progress.files,
    bytes_written: progress.bytes,
    rows_loaded: progress.rowsLoaded,
    duration_seconds: durationSeconds(progress.tableStartedAt, now),
    completed_at: now.toISOString(),
    ...(validation === undefined ? {} : { validation: validation.line }),
    ...(progress.reconcile === undefined ? {} : { reconcile: progress.reconcile }),
  };
  if (run.mode === "reconcile") {
    // A reconcile run's report, beside the markers (which only syncs write: downstream waits on those).
    if (run.completionBucket !== null) {
      const key = `${markerPrefix(run.pipeline, context.table.key, run.startedAt)}${RECONCILE_REPORT}`;
      await context.s3.putJson(run.completionBucket, key, { pipeline: run.pipeline, execution_id: run.executionId, ...result });
      result.markers = `s3://${run.completionBucket}/${key}`;
    }
    return { result, validated: validation?.complete === true };
  }
  if (run.completionBucket !== null && (run.mode === "backup_only" || validated)) {
    const summary = summarizeRun({ ...run, tablesRequested: [context.table.key] }, [result], now);
    result.markers = await writeCompletionMarkers(
      context.s3,
      {
        bucket: run.completionBucket,
        summary,
        runStartedAt: run.startedAt,
        durationSeconds: result.duration_seconds,
        metrics: {
          pipeline: run.pipeline,
          table: context.table.key,
          rows: progress.rows,
          chunks: progress.chunks,
          extractMs: progress.extractMs,
          files: progress.files,
          bytes: progress.bytes,
          rowsLoaded: progress.rowsLoaded,
          filesLoaded: progress.filesLoaded,
          loadMs: progress.loadMs,
          loads: progress.loads,
        },
      },
      log,
    );
  }
  return { result, validated };
}

export type CaughtError = { Error: string; Cause?: string | null | undefined };

/**
 * Records a table's failure: `failed` and the error in its watermark (when this run holds it — a run refused by
 * another run's lease leaves that run alone), the lease released, cursor and pending files kept for the resume.
 * Returns the table's failed line for the summary; the execution fails after Summarize.
 */
export async function failTable(context: LoadContext, run: Run, resume: Resume | null, progress: Progress | null, error: CaughtError): Promise<TableResult> {
  const message = causeMessage(error.Cause);
  const runId = progress?.runId ?? runIdOf(run, resume);
  let recorded = "";
  try {
    await failTableRun(context, runId, `${error.Error}: ${message}`);
  } catch (failure) {
    // The table's own error is what the operator needs; a watermark that could not be updated is added to it.
    recorded = ` (recording the failure in the watermark also failed: ${failure instanceof Error ? failure.message : String(failure)})`;
  }
  return {
    table: context.table.key,
    status: "failed",
    rows_processed: progress?.rows ?? 0,
    files_created: progress?.files ?? 0,
    bytes_written: progress?.bytes ?? 0,
    rows_loaded: progress?.rowsLoaded ?? 0,
    duration_seconds: progress === null ? 0 : durationSeconds(progress.tableStartedAt, context.now()),
    error_type: error.Error,
    error_message: `${message}${recorded}`,
    failed_at: context.now().toISOString(),
  };
}
