/**
 * Pure: Plan's decisions — which tables a run syncs and how, and how much of the execution's event history each
 * table may spend before it continues in a child execution. Step Functions Standard stops an execution at 25,000
 * history events and this state machine's chunk and poll loops add events per iteration; the budgets keep every
 * execution under the limit whatever the table sizes (docs/state-machine.md).
 */
import type { ResolvedPipeline } from "#config/resolve.ts";
import { pricingOf } from "./cost.ts";
import type { ExecutionInput, PlanOutput } from "#shared/steps.ts";

export const HISTORY_LIMIT = 25_000;
/** Execution start/end, Plan, Map start/end, Summarize, Fail, and headroom for retries. */
export const EXECUTION_EVENTS = 200;
/** A table's fixed events: its Map iteration, Begin, the choices, a few load rounds, Finish or FailTable, retries. */
export const TABLE_EVENTS = 80;
/** ExtractChunk (Task: entered, scheduled, started, succeeded, exited) + the Choice after it. */
export const EVENTS_PER_CHUNK = 7;
/** LoadEnded? (Choice) + CountPoll (Pass) + AwaitLoad (Task). */
export const EVENTS_PER_POLL = 9;
/**
 * Chunks one range's reader (a child execution of RangeReaders: its own history) runs before it ends unfinished and
 * ReadRanges starts the ranges left again: its history is its start and end, ExtractChunk and the Choice per chunk.
 */
export const RANGE_CHUNK_BUDGET = Math.floor((HISTORY_LIMIT - EXECUTION_EVENTS) / EVENTS_PER_CHUNK);
/** At most this many AwaitLoad calls per execution for one table: at up to 2 minutes each, 8 hours of loading. */
export const MAX_POLL_BUDGET = 240;
const MIN_POLL_BUDGET = 4;

/** Bad execution input: Plan fails the execution with this message, nothing is touched. */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
}

export type Budgets = { chunkBudget: number; pollBudget: number };

/** Per-table budgets for an execution running `tables` tables; undefined when that many cannot fit one execution. */
export function historyBudgets(tables: number): Budgets | undefined {
  const perTable = Math.floor((HISTORY_LIMIT - EXECUTION_EVENTS) / Math.max(1, tables)) - TABLE_EVENTS;
  const pollBudget = Math.min(MAX_POLL_BUDGET, Math.max(MIN_POLL_BUDGET, Math.floor((0.25 * perTable) / EVENTS_PER_POLL)));
  const chunkBudget = Math.floor((perTable - pollBudget * EVENTS_PER_POLL) / EVENTS_PER_CHUNK);
  return chunkBudget < 1 ? undefined : { chunkBudget, pollBudget };
}

/** The most tables one execution can hold with at least one chunk each. */
export function maxTablesPerExecution(): number {
  let n = 1;
  while (historyBudgets(n + 1) !== undefined) n++;
  return n;
}

export type PlanRequest = {
  input: ExecutionInput;
  pipeline: ResolvedPipeline;
  executionName: string;
  startedAt: string;
  /**
   * The completion buckets the stack grants Finish writes to: those the deployed config names (any pipeline's). An
   * input's completion_bucket must be one of them; undefined: not checked (callers without the whole config).
   */
  writableCompletionBuckets?: readonly string[];
};

export function planRun({ input, pipeline, executionName, startedAt, writableCompletionBuckets }: PlanRequest): PlanOutput {
  const known = pipeline.tables.map((t) => t.key);
  const requested = input.tables === undefined || input.tables.length === 0 ? known : [...new Set(input.tables)];
  const unknown = requested.filter((t) => !known.includes(t));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `pipeline ${pipeline.name} has no table ${unknown.join(", ")} (file ${pipeline.file}); its tables: ${known.join(", ")}. ` +
        "Give tables as schema.table exactly as written under tables:",
    );
  }
  if (input.resume !== undefined && requested.length !== 1) {
    throw new InvalidInputError("resume continues exactly one table: give it in tables (one entry)");
  }
  const budgets = historyBudgets(requested.length);
  if (budgets === undefined) {
    throw new InvalidInputError(
      `${requested.length} tables do not fit one execution's 25,000-event history (at most ${maxTablesPerExecution()}); ` +
        "start several executions, each with part of the pipeline's tables in `tables`",
    );
  }
  const mode = input.mode ?? "full";
  if (mode === "reconcile" && input.limit !== undefined && input.limit !== null) {
    throw new InvalidInputError("limit applies to extraction; reconcile compares whole tables: drop limit");
  }
  if (mode === "redshift_only" && input.limit !== undefined && input.limit !== null) {
    throw new InvalidInputError("limit applies to extraction; redshift_only loads the pending files and extracts nothing: drop limit");
  }
  const override = input.completion_bucket;
  if (override !== undefined && override !== null && writableCompletionBuckets !== undefined && !writableCompletionBuckets.includes(override)) {
    throw new InvalidInputError(
      `completion_bucket ${override} is not a bucket the stack may write markers to: it grants only the completion buckets config names ` +
        `(${writableCompletionBuckets.join(", ") || "none"}). Name it under a pipeline's completion: bucket and deploy, or leave completion_bucket out`,
    );
  }
  const root = input.resume;
  return {
    run: {
      executionId: root?.executionId ?? executionName,
      startedAt: root?.startedAt ?? startedAt,
      pipeline: pipeline.name,
      mode,
      limit: input.limit ?? null,
      completionBucket: input.completion_bucket ?? pipeline.completionBucket ?? null,
      tablesRequested: requested,
      maxParallelTables: Math.max(1, Math.min(pipeline.maxParallelTables, requested.length)),
      ...budgets,
      chunkBudget: Math.min(budgets.chunkBudget, input.chunk_budget ?? budgets.chunkBudget),
      // The run is priced as configured when it started (Summarize reads no config).
      pricing: pricingOf(pipeline),
    },
    tables: requested.map((table) => ({ table, resume: root ?? null, load: root?.load ?? null })),
  };
}
