/**
 * Finish: the table's loaded rows validated, its lease released, its completion markers (or, in mode reconcile, its
 * report) written, and its line of the run summary.
 */
import type { CostEstimate } from "#domain/cost.ts";
import { rangesLine } from "#domain/ranges.ts";
import { RECONCILE_REPORT } from "#domain/markers.ts";
import { secondsSince, summarizeRun } from "#domain/run-summary.ts";
import { markerPrefix } from "#domain/s3-layout.ts";
import { strategyFor } from "#domain/cdc/index.ts";
import { finishRun, lateWindowOf, MAX_UNCHANGED_REREADS, settleValidated, type LateWindow, type ShortWindow, type Watermark } from "#domain/watermark.ts";
import type { Meter, Progress, Run, TableResult } from "#shared/steps.ts";
import type { LoadContext } from "./load.ts";
import { lateRangesOfRecentWindows, narrowed } from "./recent-windows.ts";
import { writeCompletionMarkers, type MarkerLog } from "./markers.ts";
import { loadSchema, readWatermark, updateWatermark } from "./sync-context.ts";
import { stuckWindowProblem, validateWindows, ValidationError, type ValidationReport } from "./validate.ts";

/** The recent windows' late ranges, where the strategy counts them again and the table has been loaded. */
async function lateInRecentWindows(context: LoadContext, watermark: Watermark | undefined): Promise<ShortWindow[]> {
  const windows = watermark?.mysql_state.recent_windows ?? [];
  const last = windows.at(-1);
  // Nothing loaded yet: no target to compare with.
  if (last === undefined || watermark?.redshift_state.last_load_id === null) return [];
  const schema = await loadSchema(context, last.schema_key);
  if (strategyFor(context.table, schema).recountsRecentWindows !== true) return [];
  return lateRangesOfRecentWindows(context, schema, windows);
}

/** One line for the summary and the markers: what the validation compared. */
function validationLine(
  report: ValidationReport,
  late: readonly LateWindow[],
  rowsLoaded: number,
  extractionOpen: boolean,
): { line: string; complete: boolean } {
  const line = validationCounts(report, rowsLoaded, extractionOpen);
  if (late.length === 0) return line;
  const rows = late.reduce((sum, w) => sum + w.late_rows, 0);
  return {
    ...line,
    line: `${line.line}; ${rows} row(s) committed late into ${late.length} key range(s) after they were read: the next run reads them again`,
  };
}

function validationCounts(report: ValidationReport, rowsLoaded: number, extractionOpen: boolean): { line: string; complete: boolean } {
  const c = report.counts;
  if (report.windows === 0) {
    if (rowsLoaded > 0 && extractionOpen)
      return { line: "pending: the loaded rows belong to an extraction window not finished yet; validated when it ends", complete: false };
    return { line: "nothing loaded to validate", complete: true };
  }
  if (c === undefined) return { line: `not countable (${report.windows} window(s); custom_sql or row_count_check off)`, complete: true };
  return { line: `passed: ${report.windows} window(s), MySQL ${c.mysql ?? "n/a"}, extracted ${c.extracted}, Redshift ${c.redshift}`, complete: true };
}

/**
 * Validates every extracted window whose files are now loaded — this run's, and those a failed or earlier run left
 * (resume, redshift_only) —, releases the table and writes the completion markers. Nothing says success unless the
 * loaded rows were validated: a failed validation throws (the failing windows stay listed, so the next load validates
 * them again; the windows that passed leave the list), and rows whose window is still open get no marker.
 */
export async function finishStep(
  context: LoadContext,
  run: Run,
  progress: Progress,
  log: MarkerLog,
  /** The table's meter with this step's work so far, and its price (the handler knows the run's pricing). */
  costNow: () => { meter: Meter; cost: CostEstimate },
): Promise<{ result: TableResult; validated: boolean; cost: CostEstimate }> {
  let validation: { line: string; complete: boolean } | undefined;
  let lateRows = progress.lateRows ?? 0;
  if (run.mode !== "backup_only") {
    const watermark = await readWatermark(context);
    const windows = watermark?.s3_state.pending_validation ?? [];
    let report: ValidationReport;
    try {
      report = await validateWindows(context, windows);
    } catch (error) {
      // A window with a problem stays listed; the others validated all the same and leave the list, so one window
      // never keeps later ones from being validated.
      if (!(error instanceof ValidationError)) throw error;
      const passed = windows.filter((w) => !error.report.failed.includes(w));
      const queued = error.report.late.filter((short) => !error.report.failed.includes(short.window)).map((short) => lateWindowOf(short, progress.runId));
      if (passed.length > 0) await updateWatermark(context, (current) => settleValidated(current, passed, queued, context.now()));
      throw error;
    }
    // id_only: the recent windows compared with Redshift range by range, for rows committed into them since.
    const late = narrowed(report.late, await lateInRecentWindows(context, watermark)).map((short) => lateWindowOf(short, progress.runId));
    // Late ranges are queued even when no window was validated (a run with nothing new): they would wait otherwise.
    if (windows.length > 0 || late.length > 0) {
      await updateWatermark(context, (current) => settleValidated(current, windows, late, context.now()));
    }
    lateRows += late.reduce((sum, window) => sum + window.late_rows, 0);
    // Read again and again while MySQL's count of it stays the same: these rows are not late, they do not land.
    const stuck = late.filter((window) => window.reread.unchanged >= MAX_UNCHANGED_REREADS);
    if (stuck.length > 0) throw new ValidationError({ ...report, problems: stuck.map((window) => stuckWindowProblem(context, window)) });
    const open = watermark !== undefined && watermark.mysql_state.status !== "success" && watermark.mysql_state.window_rows > 0;
    validation = validationLine(report, late, progress.rowsLoaded, open);
  }
  const validated = validation !== undefined && validation.complete;
  // What the table's run cost, with this step's work so far (the markers carry it).
  const { meter, cost } = costNow();
  // redshift_only and reconcile hold no lease to release.
  if (run.mode !== "redshift_only" && run.mode !== "reconcile") {
    await updateWatermark(context, (current) => finishRun(current, progress.runId, context.now(), cost.total_usd));
  }
  const now = context.now();
  const result: TableResult = {
    table: context.table.key,
    status: "success",
    rows_processed: progress.rows,
    files_created: progress.files,
    bytes_written: progress.bytes,
    rows_loaded: progress.rowsLoaded,
    duration_seconds: secondsSince(progress.tableStartedAt, now),
    completed_at: now.toISOString(),
    ...(validation === undefined ? {} : { validation: validation.line }),
    ...(progress.reconcile === undefined ? {} : { reconcile: progress.reconcile }),
    ...(lateRows > 0 ? { late_rows: lateRows } : {}),
    ...(progress.windowsReread === undefined ? {} : { windows_reread: progress.windowsReread }),
    ...(progress.horizon === undefined ? {} : { horizon: progress.horizon }),
    ...(progress.rangesRead === undefined ? {} : { ranges: rangesLine(progress.rangesRead) }),
    // The meter, not the priced estimate: the Map gathers every table's line (256 KiB); Summarize prices each.
    meter,
  };
  if (run.mode === "reconcile") {
    // A reconcile run's report, beside the markers (which only syncs write: downstream waits on those).
    if (run.completionBucket !== null) {
      const key = `${markerPrefix(run.pipeline, context.table.key, run.startedAt)}${RECONCILE_REPORT}`;
      await context.s3.putJson(run.completionBucket, key, { pipeline: run.pipeline, execution_id: run.executionId, ...result, meter: undefined, cost });
      result.markers = `s3://${run.completionBucket}/${key}`;
    }
    return { result, validated: validation?.complete === true, cost };
  }
  if (run.completionBucket !== null && (run.mode === "backup_only" || validated)) {
    // The marker's summary is this table's: its cost is the table's.
    const summary = summarizeRun({ ...run, tablesRequested: [context.table.key] }, [{ ...result, cost }], now, cost);
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
  return { result, validated, cost };
}
