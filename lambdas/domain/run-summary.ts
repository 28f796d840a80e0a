/**
 * Pure: the run summary (docs/design.md §9, the seed's JSON-output shape): the execution's output, what `mrsync sync
 * --json-output` writes, and — for one table — the completion marker's execution_metadata.json.
 */
import type { CostEstimate } from "./cost.ts";
import type { Mode, Run, TableResult } from "#shared/steps.ts";

export type TableSummary = {
  status: TableResult["status"];
  rows_processed?: number;
  files_created?: number;
  bytes_written?: number;
  rows_loaded?: number;
  duration_seconds?: number;
  completed_at?: string;
  error_message?: string;
  error_type?: string;
  failed_at?: string;
  /** What validated the loaded rows (additive to the seed's shape). */
  validation?: string;
  /** Mode reconcile: rows compared, missing, extra, different, re-loaded, deleted. */
  reconcile?: TableResult["reconcile"];
  /** Rows found committed into windows after they were read; those windows are read again (by this run or the next). */
  late_rows?: number;
  /** Windows this run read again for such rows. */
  windows_reread?: number;
  /** Timestamp strategies: what the transaction horizon did to the ceiling. */
  horizon?: string;
  /** A window read in key ranges: the table's read rate and each range's (docs/design.md §14). */
  ranges?: TableResult["ranges"];
  /** What the table's run cost, estimated (its loads' Redshift time as if it ran alone). */
  cost?: CostEstimate;
};

export type RunSummary = {
  execution_id: string;
  start_time: string;
  pipeline: string;
  mode: Mode;
  tables_requested: string[];
  total_tables: number;
  table_results: Record<string, TableSummary>;
  status: "success" | "partial_success" | "failed";
  end_time: string;
  duration_seconds: number;
  summary: {
    success_count: number;
    failure_count: number;
    total_rows_processed: number;
    total_files_created: number;
    total_rows_loaded: number;
    /** Of the totals, what failed tables extracted and loaded before they failed (their files stay pending). */
    failed_tables_rows_processed: number;
    failed_tables_files_created: number;
    failed_tables_rows_loaded: number;
  };
  /** What the run cost, estimated: each part in USD and what it counted (domain/cost.ts). */
  cost?: CostEstimate;
  stages: {
    backup: { tables: number; rows: number; files: number; bytes: number } | null;
    redshift: { tables: number; rows_loaded: number } | null;
  };
  /**
   * A one-table run's line as the Map returned it: a parent execution reads its table's line from here (a child runs
   * one table). Runs of more tables leave it out: table_results has every line once, and the payload stays bounded.
   */
  results?: TableResult[];
};

/** The longest error text kept per table: the summary travels as a Fail state's cause (≤ 32,768 characters). */
export const MAX_ERROR_CHARS = 2_000;
/** The shortest: enough for the error's name, the table and what to do; the whole text is in the table's watermark. */
export const MIN_ERROR_CHARS = 200;
/**
 * Step Functions fails an execution whose state output passes 256 KiB (States.DataLimitExceeded, which no Catch
 * catches). The Map's results and the summary each hold one line per table (at most ~190 tables: the history budget,
 * run-plan.ts); the error texts share this many characters, so either stays under the limit however many tables fail
 * with whatever messages (test: run-summary.test.ts).
 */
export const ERROR_CHARS_PER_RUN = 48 * 1024;

/** How much of each table's error text a run of `tables` tables keeps in its lines. */
export function errorCharsFor(tables: number): number {
  return Math.max(MIN_ERROR_CHARS, Math.min(MAX_ERROR_CHARS, Math.floor(ERROR_CHARS_PER_RUN / Math.max(1, tables))));
}

/** An error text cut to `limit` characters, saying so and where the whole text is. */
export function boundedError(message: string, limit: number): string {
  if (message.length <= limit) return message;
  const note = " … (cut; the whole error: mrsync watermark get)";
  return `${message.slice(0, Math.max(0, limit - note.length))}${note}`;
}
/** Step Functions keeps at most 32,768 characters of a Fail state's cause. */
export const MAX_CAUSE_CHARS = 32_768;

export const seconds = (ms: number) => Math.round(ms) / 1000;
/** Seconds from an ISO instant to `to`, to the ms, never negative (a clock behind the run's start reads 0). */
export const secondsSince = (from: string, to: Date) => Math.max(0, seconds(to.getTime() - Date.parse(from)));

function tableSummary(result: TableResult, errorChars: number): TableSummary {
  if (result.status === "failed") {
    return {
      status: "failed",
      error_message: boundedError(result.error_message ?? "", errorChars),
      error_type: result.error_type,
      failed_at: result.failed_at,
      rows_processed: result.rows_processed,
      files_created: result.files_created,
      rows_loaded: result.rows_loaded,
      ...(result.cost === undefined ? {} : { cost: result.cost }),
    };
  }
  return {
    status: "success",
    rows_processed: result.rows_processed,
    files_created: result.files_created,
    bytes_written: result.bytes_written,
    rows_loaded: result.rows_loaded,
    duration_seconds: result.duration_seconds,
    completed_at: result.completed_at,
    ...(result.validation === undefined ? {} : { validation: result.validation }),
    ...(result.reconcile === undefined ? {} : { reconcile: result.reconcile }),
    ...(result.late_rows === undefined ? {} : { late_rows: result.late_rows }),
    ...(result.windows_reread === undefined ? {} : { windows_reread: result.windows_reread }),
    ...(result.horizon === undefined ? {} : { horizon: result.horizon }),
    ...(result.ranges === undefined ? {} : { ranges: result.ranges }),
    ...(result.cost === undefined ? {} : { cost: result.cost }),
  };
}

export function summarizeRun(
  run: Pick<Run, "executionId" | "startedAt" | "pipeline" | "mode" | "tablesRequested">,
  results: readonly TableResult[],
  now: Date,
  cost?: CostEstimate,
): RunSummary {
  const succeeded = results.filter((r) => r.status === "success");
  const failed = results.length - succeeded.length;
  const sum = (pick: (r: TableResult) => number) => succeeded.reduce((n, r) => n + pick(r), 0);
  const all = (pick: (r: TableResult) => number) => results.reduce((n, r) => n + pick(r), 0);
  const status = failed === 0 ? "success" : succeeded.length === 0 ? "failed" : "partial_success";
  const errorChars = errorCharsFor(results.length);
  return {
    execution_id: run.executionId,
    start_time: run.startedAt,
    pipeline: run.pipeline,
    mode: run.mode,
    tables_requested: run.tablesRequested,
    total_tables: run.tablesRequested.length,
    table_results: Object.fromEntries(results.map((r) => [r.table, tableSummary(r, errorChars)])),
    status,
    end_time: now.toISOString(),
    duration_seconds: secondsSince(run.startedAt, now),
    ...(cost === undefined ? {} : { cost }),
    summary: {
      success_count: succeeded.length,
      failure_count: failed,
      // Every table's work, the failed ones' included (labelled below): rows were read and files written either way.
      total_rows_processed: all((r) => r.rows_processed),
      total_files_created: all((r) => r.files_created),
      total_rows_loaded: all((r) => r.rows_loaded),
      failed_tables_rows_processed: all((r) => r.rows_processed) - sum((r) => r.rows_processed),
      failed_tables_files_created: all((r) => r.files_created) - sum((r) => r.files_created),
      failed_tables_rows_loaded: all((r) => r.rows_loaded) - sum((r) => r.rows_loaded),
    },
    stages: {
      backup:
        run.mode === "redshift_only"
          ? null
          : { tables: succeeded.length, rows: sum((r) => r.rows_processed), files: sum((r) => r.files_created), bytes: sum((r) => r.bytes_written) },
      redshift: run.mode === "backup_only" ? null : { tables: succeeded.length, rows_loaded: sum((r) => r.rows_loaded) },
    },
    ...(results.length === 1
      ? { results: results.map((r) => ({ ...r, ...(r.error_message === undefined ? {} : { error_message: boundedError(r.error_message, errorChars) }) })) }
      : {}),
  };
}

/** The Fail state's cause: one line naming the failed tables, then the summary as JSON (CLI and console read it). */
export function failureCause(summary: RunSummary): string {
  const failed = Object.entries(summary.table_results).filter(([, r]) => r.status === "failed");
  const head =
    `${failed.length} of ${summary.total_tables} table(s) failed: ${failed.map(([table, r]) => `${table} (${r.error_type ?? "Error"})`).join(", ")}`.slice(
      0,
      MAX_CAUSE_CHARS / 4,
    );
  const whole = `${head}\n${JSON.stringify(summary)}`;
  if (whole.length <= MAX_CAUSE_CHARS) return whole;
  // Many tables: keep the failed ones' lines (the successful ones are in their markers and metrics), their errors cut
  // to share what the cause can hold.
  const errorChars = Math.max(80, Math.floor((MAX_CAUSE_CHARS * 0.75 - head.length) / Math.max(1, failed.length)) - 400);
  const failedOnly = {
    ...summary,
    results: undefined,
    table_results: Object.fromEntries(
      failed.map(([table, r]) => [table, { ...r, ...(r.error_message === undefined ? {} : { error_message: boundedError(r.error_message, errorChars) }) }]),
    ),
  };
  const shorter = `${head}\n${JSON.stringify(failedOnly)}`;
  return shorter.length <= MAX_CAUSE_CHARS ? shorter : head;
}

/**
 * The readable message of a caught error. Lambda puts a JSON {errorType, errorMessage} in Cause; a failed child
 * execution nests its own Cause; anything else is kept as text.
 */
export function causeMessage(cause: string | null | undefined): string {
  if (cause === null || cause === undefined || cause === "") return "no cause given";
  let parsed: unknown;
  try {
    parsed = JSON.parse(cause);
  } catch {
    return cause;
  }
  if (parsed !== null && typeof parsed === "object") {
    const record = parsed as Record<string, unknown>;
    if (typeof record.errorMessage === "string") return record.errorMessage;
    if (typeof record.Cause === "string") return causeMessage(record.Cause);
  }
  return cause;
}
