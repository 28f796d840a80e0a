/** FailTable: a table's failure recorded in its watermark (lease released); the other tables go on. */
import { boundedError, causeMessage, errorCharsFor, secondsSince } from "#domain/run-summary.ts";
import { failRun } from "#domain/watermark.ts";
import type { Meter, Progress, Resume, Run, TableResult } from "#shared/steps.ts";
import { runIdOf } from "./begin.ts";
import { updateWatermark, type TableContext } from "./sync-context.ts";

export type CaughtError = { Error: string; Cause?: string | null | undefined };

/**
 * Records a table's failure: `failed` and the error in its watermark (when this run holds it — a run refused by
 * another run's lease leaves that run alone), the lease released, cursor and pending files kept for the resume.
 * Returns the table's failed line for the summary; the execution fails after Summarize.
 */
export async function failTableStep(
  context: TableContext,
  run: Run,
  resume: Resume | null,
  progress: Progress | null,
  error: CaughtError,
  /** The table's meter with this step's work so far (Summarize prices it). */
  meterNow: () => Meter,
): Promise<TableResult> {
  const message = causeMessage(error.Cause);
  const runId = progress?.runId ?? runIdOf(run, resume);
  let recorded = "";
  try {
    await updateWatermark(context, (current) => failRun(current, runId, `${error.Error}: ${message}`, context.now()));
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
    duration_seconds: progress === null ? 0 : secondsSince(progress.tableStartedAt, context.now()),
    error_type: error.Error,
    // The Map gathers every table's line: bounded by the run's table count (the whole text is in the watermark).
    error_message: boundedError(`${message}${recorded}`, errorCharsFor(run.tablesRequested.length)),
    failed_at: context.now().toISOString(),
    // What it spent before it failed (Summarize prices it: the run's cost counts it).
    meter: meterNow(),
  };
}
