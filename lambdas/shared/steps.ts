/**
 * The state machine's step contracts, defined once: every Task's input and output, parsed by the handlers at the
 * edge and referenced by the ASL definition (statemachines/) and the CDK. Field names are what an on-call engineer
 * reads in the Step Functions console, so they say what they hold.
 */
import { z } from "zod";
import { STATEMENT_STATUSES } from "#adapters/redshift-data.ts";
import { BUCKET_NAME, PricesSchema } from "#config/schema.ts";
import { RangeReadSchema, RangesLineSchema } from "#domain/ranges.ts";

export const MODES = ["full", "backup_only", "redshift_only", "reconcile"] as const;
export type Mode = (typeof MODES)[number];

/**
 * Cursor positions (MySQL text timestamps, the unique key as a tuple of text values). `id` is how executions started
 * before key tuples carried a single id; it is read as a one-value tuple.
 */
export const PositionSchema = z
  .object({ timestamp: z.string().nullable(), key: z.array(z.string()).nullable().optional(), id: z.string().nullable().optional() })
  .transform((p) => ({ timestamp: p.timestamp, key: p.key ?? (p.id === null || p.id === undefined ? null : [p.id]) }));

/** The execution input (docs/design.md §9). `resume` is internal: a table continuing in a child execution. */
export const ExecutionInputSchema = z.strictObject({
  pipeline: z.string().min(1, "pipeline is required"),
  tables: z.array(z.string().min(1)).min(1, "tables, when given, lists at least one table (omit it to sync every table)").optional(),
  mode: z.enum(MODES).optional(),
  limit: z.int().positive().nullish(),
  completion_bucket: z.string().regex(BUCKET_NAME, "an S3 bucket name (3-63 lower-case letters, digits, . or -)").nullish(),
  resume: z.lazy(() => ResumeSchema).optional(),
  /**
   * At most this many chunks per table before it continues in a child execution (the history budget, lowered): the
   * post-deploy smoke check forces ContinueInChild with 1. A child runs with the full budget.
   */
  chunk_budget: z.int().positive().optional(),
  /** Set by Step Functions on a child execution's input (console link to its parent). */
  AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().optional(),
});
export type ExecutionInput = z.output<typeof ExecutionInputSchema>;

// The meter is defined with the ranges' state, which keeps a range reader's (its child execution returns none).
import { emptyMeter, MeterSchema } from "#domain/meter.ts";
export { emptyMeter, MeterSchema, type Meter } from "#domain/meter.ts";

/** The cost estimate of a table or a run (domain/cost.ts): each part in USD, the total their sum. */
export const CostEstimateSchema = z.object({
  total_usd: z.number(),
  step_functions_usd: z.number(),
  lambda_usd: z.number(),
  redshift_usd: z.number(),
  s3_usd: z.number(),
  state_transitions: z.int(),
  lambda_invocations: z.int(),
  lambda_gb_seconds: z.number(),
  redshift_rpu_seconds: z.number().nullable(),
  s3_requests: z.int(),
  prices_as_of: z.string(),
});

/**
 * How a run is priced (domain/cost.ts pricingOf): the target's base RPU (absent: a provisioned cluster, no per-run
 * compute charge) and connections.yml's prices.
 */
export const PricingSchema = z.object({ baseRpu: z.int().positive().optional(), prices: PricesSchema });
export type Pricing = z.output<typeof PricingSchema>;

/** What every step of a table knows about the whole run (built by Plan). */
export const RunSchema = z.object({
  /** The root execution's name: the run id of its tables and the id in the run summary. */
  executionId: z.string(),
  startedAt: z.string(),
  pipeline: z.string(),
  mode: z.enum(MODES),
  limit: z.int().positive().nullable(),
  completionBucket: z.string().nullable(),
  tablesRequested: z.array(z.string()),
  maxParallelTables: z.int().positive(),
  /** Chunks one table may run in this execution before it continues in a child (25,000-event history limit). */
  chunkBudget: z.int().positive(),
  /** AwaitLoad calls one table may spend in this execution before it continues in a child. */
  pollBudget: z.int().positive(),
  /** What Plan's own invocation spent (Summarize adds it to the run's cost). */
  planMeter: MeterSchema.optional(),
  /** How the run is priced, as configured when it started. Optional: an execution planned before the cost estimate has none. */
  pricing: PricingSchema.optional(),
});
export type Run = z.output<typeof RunSchema>;

/**
 * A table handed over to a child execution: the root execution (its id names the run and the markers) and the
 * table's progress so far. The child skips Begin's work and goes on from there.
 */
export const ResumeSchema = z.object({
  executionId: z.string(),
  startedAt: z.string(),
  progress: z.lazy(() => ProgressSchema),
  /** The load the parent was polling when it continued here (null: it continued while extracting). */
  load: z.lazy(() => LoadSchema).nullish(),
});
export type Resume = z.output<typeof ResumeSchema>;

/** Plan gets Step Functions' context object for the execution: its input (any JSON, `null` included), name and start. */
export const PlanInputSchema = z.object({ execution: z.object({ Input: z.unknown(), Name: z.string(), StartTime: z.string() }) });
export const PlanOutputSchema = z.object({
  run: RunSchema,
  tables: z.array(z.object({ table: z.string(), resume: ResumeSchema.nullable(), load: z.lazy(() => LoadSchema).nullable() })),
});
export type PlanOutput = z.output<typeof PlanOutputSchema>;

/** What a reconcile found and repaired in a table (mode reconcile). */
export const ReconcileCountsSchema = z.object({
  compared: z.int().nonnegative(),
  missing: z.int().nonnegative(),
  extra: z.int().nonnegative(),
  different: z.int().nonnegative(),
  /** Rows re-extracted for the load (missing and different). */
  reloaded: z.int().nonnegative(),
  /** Rows only in Redshift deleted (delete_policy: hard). */
  deleted: z.int().nonnegative(),
});
export type ReconcileCounts = z.output<typeof ReconcileCountsSchema>;

/** A table's progress through its run, carried from step to step (counts, never file lists: 256 KiB payloads). */
export const ProgressSchema = z.object({
  runId: z.string(),
  /** Empty in redshift_only mode (nothing extracted, no schema read). */
  schemaKey: z.string(),
  tableStartedAt: z.string(),
  start: PositionSchema,
  ceiling: PositionSchema,
  done: z.boolean(),
  rows: z.int().nonnegative(),
  files: z.int().nonnegative(),
  bytes: z.int().nonnegative(),
  chunks: z.int().nonnegative(),
  /** Chunks run in this execution (compared with run.chunkBudget). */
  chunksHere: z.int().nonnegative(),
  extractMs: z.number().nonnegative(),
  rowsLoaded: z.int().nonnegative(),
  /** Files the run's loads loaded (redshift_only: files extracted by earlier runs). */
  filesLoaded: z.int().nonnegative().default(0),
  /** Loads Redshift aborted for a serializable-isolation conflict and the run submitted again (bounded). */
  loadConflicts: z.int().nonnegative().default(0),
  loads: z.int().nonnegative(),
  loadMs: z.number().nonnegative(),
  /** Files still pending load after the last CompleteLoad (another load follows when > 0). */
  pendingFiles: z.int().nonnegative(),
  reconcile: ReconcileCountsSchema.optional(),
  /**
   * Rows found committed into windows after they were read (Begin's recount of id_only's recent windows, the count at
   * a window's end): the run or the next one reads those windows again.
   */
  lateRows: z.int().positive().optional(),
  /** Windows the run read again for rows committed into them late. */
  windowsReread: z.int().positive().optional(),
  /** Timestamp strategies: what the transaction horizon did to the ceiling (settle.ts). */
  horizon: z.string().optional(),
  /** What the table's steps spent so far, across child executions (the cost estimate). */
  meter: MeterSchema.default(emptyMeter),
  /**
   * The window is read as key ranges (docs/design.md §14): how many are left, the plan the Distributed Map reads its
   * items from, and how many it reads at once. Absent: one reader.
   */
  ranges: z
    .object({
      left: z.int().nonnegative(),
      total: z.int().positive(),
      plan: z.object({ bucket: z.string(), key: z.string() }),
      concurrency: z.int().positive(),
    })
    .optional(),
  /** In a range's reader (RangeReaders): its range is read. */
  rangeDone: z.boolean().optional(),
  /** What each range read, once the window they made is closed (the result line's `ranges`). */
  rangesRead: z.array(RangeReadSchema).optional(),
});
export type Progress = z.output<typeof ProgressSchema>;

/** A submitted load: keys and counts only; the manifest in S3 lists the files. */
export const LoadSchema = z.object({
  loadId: z.string(),
  manifestKey: z.string(),
  schemaKey: z.string(),
  /** null: the ledger shows the load applied already, nothing was submitted. */
  statementId: z.string().nullable(),
  insertIndex: z.int(),
  files: z.int().nonnegative(),
  submittedAt: z.string(),
  /** AwaitLoad's answer: the statement's status when it ended, or when the call's wait ran out. */
  status: z.enum(STATEMENT_STATUSES).optional(),
  /**
   * The table's meter from SubmitLoad on (SubmitLoad's and AwaitLoad's invocations added to the progress' meter):
   * CompleteLoad, or Finish after a load of no files, takes it over.
   */
  meter: MeterSchema.optional(),
});
export type Load = z.output<typeof LoadSchema>;

const TableStep = { run: RunSchema, table: z.string() };
export const BeginInputSchema = z.object({ ...TableStep, resume: ResumeSchema.nullable() });
export const ProgressInputSchema = z.object({ ...TableStep, progress: ProgressSchema, range: z.int().nonnegative().optional() });
export const CompleteLoadInputSchema = z.object({ ...TableStep, progress: ProgressSchema, load: LoadSchema });
export const AwaitLoadInputSchema = z.object({ ...TableStep, load: LoadSchema });
/** Finish also gets the last load: after a load of no files (nothing to load) it holds the table's meter. */
export const FinishInputSchema = z.object({ ...TableStep, progress: ProgressSchema, load: LoadSchema.nullish() });
/** Step Functions' Catch output: Error is the error's name, Cause its message (JSON from Lambda). */
export const CaughtErrorSchema = z.object({ Error: z.string(), Cause: z.string().nullish() });
export const FailTableInputSchema = z.object({ ...TableStep, resume: ResumeSchema.nullable(), progress: ProgressSchema.nullable(), error: CaughtErrorSchema });

/** One table's line in the run summary (seed JSON-output shape, plus loading figures). */
export const TableResultSchema = z.object({
  table: z.string(),
  status: z.enum(["success", "failed"]),
  rows_processed: z.int().nonnegative(),
  files_created: z.int().nonnegative(),
  bytes_written: z.int().nonnegative(),
  rows_loaded: z.int().nonnegative(),
  duration_seconds: z.number().nonnegative(),
  completed_at: z.string().optional(),
  error_message: z.string().optional(),
  error_type: z.string().optional(),
  failed_at: z.string().optional(),
  markers: z.string().optional(),
  /** What validated the loaded rows: "passed (…)", "pending (…)" when loaded rows await their window's end, "not countable (…)". */
  validation: z.string().optional(),
  /** Mode reconcile: the differences found and repaired. */
  reconcile: ReconcileCountsSchema.optional(),
  /**
   * Rows found committed into windows after they were read (at Begin, at a window's end, by validation): each such
   * window is read again, by this run or the next; never a failure.
   */
  late_rows: z.int().positive().optional(),
  /** Windows this run read again for rows committed into them late. */
  windows_reread: z.int().positive().optional(),
  /** Timestamp strategies: whether the transaction horizon held the ceiling back, and by how much. */
  horizon: z.string().optional(),
  /** A window read in key ranges: how many, the table's read time, MB and MB/s (the source's rate), and each range's. */
  ranges: RangesLineSchema.optional(),
  /** What the table's run cost, estimated (its loads' Redshift time as if alone): set by Summarize from the meter. */
  cost: CostEstimateSchema.optional(),
  /** What the table's steps spent (Summarize prices it and adds up the run's; not in the summary's lines). */
  meter: MeterSchema.optional(),
});
export type TableResult = z.output<typeof TableResultSchema>;

export const SummarizeInputSchema = z.object({ run: RunSchema, results: z.array(TableResultSchema) });
