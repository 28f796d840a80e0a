/**
 * Reconciliation's MySQL pass cut into key ranges (docs/design.md §13, domain/reconcile/range-plan.ts): a big table's
 * ranges are summarized by readers at once — in `mrsync reconcile`'s process, or by mode reconcile's range readers
 * (the Distributed Map) — each in sub-ranges of its key, its summary kept in S3 as it goes, so a crash resumes with
 * the ranges read and reads on from each other range's last key.
 */
import type { Connection } from "mysql2/promise";
import { keyColumnOf, keyText, type KeyColumn } from "#domain/cdc/keyset.ts";
import { quotedTable, textOf } from "#domain/cdc/types.ts";
import { rangeCount, rangePredicate, stepQuery } from "#domain/ranges.ts";
import {
  emptySummary,
  mergedSummary,
  newPlan,
  planFingerprint,
  RangeSummarySchema,
  ReconcilePlanSchema,
  resumable,
  type RangeSummary,
  type ReconcilePlan,
} from "#domain/reconcile/range-plan.ts";
import { addBuckets, bucketCount, bucketRows, summarySql, type Shape, type Summary } from "#domain/reconcile/summary.ts";
import { reconcilePlanKey, reconcileRangeKey } from "#domain/s3-layout.ts";
import type { TableColumn } from "#domain/table-schema.ts";
import { NotFoundError, PreconditionFailedError } from "#shared/errors.ts";
import { queryRow } from "#adapters/mysql.ts";
import { estimatedRows, planKeyRanges } from "./key-ranges.ts";
import { withTableSource, type TableContext } from "./sync-context.ts";
import { addMeters } from "#domain/cost.ts";
import { emptyMeter, type Meter } from "#domain/meter.ts";

/** Rows of one sub-range: one GROUP BY statement, and what a crash reads again at most. */
export const SUB_RANGE_ROWS = 100_000;
/** A range's summary is written to S3 at least this often while it is read (and when it ends or the call must return). */
const SAVE_EVERY_MS = 30_000;
/** Attempts of one range in one process whose summary another reader wrote first. */
const MAX_LOST_SAVES = 1_000;

/** The shape of a comparison before its bucket count (which the plan sets). */
export type PlannedShape = Omit<Shape, "buckets">;

/** The reconciliation key as key-range columns: undefined where it cannot be cut (a column that orders no keyset, or NULL allowed). */
export function rangeKey(key: readonly TableColumn[]): KeyColumn[] | undefined {
  const columns: KeyColumn[] = [];
  for (const column of key) {
    const keyed = keyColumnOf(column);
    // A NULL key part is in no range: (after, up_to] compares it as unknown.
    if ("problem" in keyed || column.nullable) return undefined;
    columns.push(keyed);
  }
  return columns.length === 0 ? undefined : columns;
}

const planKey = (context: TableContext) => reconcilePlanKey(context.pipeline.s3.isolation_prefix, context.pipeline.name, context.table.key);
const summaryKey = (context: TableContext, index: number) =>
  reconcileRangeKey(context.pipeline.s3.isolation_prefix, context.pipeline.name, context.table.key, index);

async function readObject<T>(context: TableContext, key: string, parse: (value: unknown) => T): Promise<{ value: T; etag: string } | undefined> {
  try {
    const { value, etag } = await context.s3.getJson(context.bucket, key);
    return { value: parse(value), etag };
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** The table's open plan, if any (a comparison that has not used it yet). */
export async function storedPlan(context: TableContext): Promise<ReconcilePlan | undefined> {
  return (await readPlanObject(context))?.value;
}

const readPlanObject = (context: TableContext) => readObject(context, planKey(context), (v) => ReconcilePlanSchema.parse(v));

/**
 * The plan of a comparison in this shape: the stored one when it can be resumed, else a new one when the table is big
 * enough for ranges (`processing.parallel_ranges`, as for a sync) and its key can be cut; undefined: one pass.
 */
export async function comparisonPlan(context: TableContext, connection: Connection, shape: PlannedShape): Promise<ReconcilePlan | undefined> {
  const { table } = context;
  const keyColumns = rangeKey(shape.key);
  if (keyColumns === undefined || table.processing.parallel_ranges === 1) return undefined;
  // A table too small for ranges is one pass, without a look at S3.
  const estimate = await estimatedRows(connection, table.sourceSchema, table.sourceTable);
  if (rangeCount(table.processing.parallel_ranges, table.processing.max_parallel_ranges, estimate) <= 1) return undefined;
  const fingerprint = planFingerprint(shape.key, shape.compared, shape.hash);
  const stored = await readPlanObject(context);
  if (resumable(stored?.value, fingerprint, context.now())) return stored.value;
  const ranges = await planKeyRanges(
    connection,
    { key: table.key, schema: table.sourceSchema, table: table.sourceTable, from: quotedTable(table), keyColumns, upTo: null },
    table.processing.parallel_ranges,
    table.processing.max_parallel_ranges,
  );
  if (ranges.length <= 1) return undefined;
  const rows = ranges.reduce((sum, range) => sum + range.rows, 0);
  const plan = newPlan(ranges, { fingerprint, buckets: bucketCount(rows), hash: shape.hash }, context.now());
  // Written over the plan it read (or none): two comparisons starting at once agree on one plan, the later one
  // taking the first's, so their readers work on the same ranges and not against each other.
  try {
    await context.s3.putJson(context.bucket, planKey(context), plan, stored === undefined ? { ifNoneMatch: "*" } : { ifMatch: stored.etag });
    return plan;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    const other = await storedPlan(context);
    if (resumable(other, fingerprint, context.now())) return other;
    throw new Error(`${table.key}: another reconcile wrote a reconcile plan of another shape meanwhile; run the reconcile again`, { cause: error });
  }
}

/** The comparison has used the plan's summaries: the next one plans anew. */
export async function closePlan(context: TableContext, plan: ReconcilePlan): Promise<void> {
  await context.s3.putJson(context.bucket, planKey(context), { ...plan, closed_at: context.now().toISOString() });
}

/** Each range's summary under this plan (undefined: not begun). */
export async function rangeSummaries(context: TableContext, plan: ReconcilePlan): Promise<(RangeSummary | undefined)[]> {
  return Promise.all(
    plan.ranges.map(async (range) => {
      const stored = await readObject(context, summaryKey(context, range.index), (v) => RangeSummarySchema.parse(v));
      return stored?.value.plan === plan.id ? stored.value : undefined;
    }),
  );
}

/** `work` on every item, at most `width` at once (each worker takes the next item as it is free), results in order. */
export async function inBatches<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, worker));
  return results;
}

/** Ranges of the plan not summarized to their end yet. */
export const unreadRanges = (plan: ReconcilePlan, summaries: readonly (RangeSummary | undefined)[]): number[] =>
  plan.ranges.filter((range) => summaries.find((s) => s?.index === range.index)?.done !== true).map((range) => range.index);

/** What the plan's range readers spent, all together. */
export const readersSpent = (summaries: readonly (RangeSummary | undefined)[]): Meter =>
  summaries.reduce((sum: Meter, summary) => (summary === undefined ? sum : addMeters(sum, summary.spent)), emptyMeter());

/** The whole table's MySQL summary once every range is read (undefined before). */
export async function mysqlSummaryOf(context: TableContext, plan: ReconcilePlan): Promise<Map<number, Summary> | undefined> {
  return mergedSummary(plan, await rangeSummaries(context, plan));
}

export type RangeOutcome = { index: number; done: boolean; rows: number; readMs: number };

/**
 * Summarizes one range of the plan from where its summary stands, a sub-range of SUB_RANGE_ROWS keys at a time
 * (`stop`: before each sub-range, whether the call must return). The summary is written on the one it read (its ETag):
 * a reader that loses that race to another reader of the range leaves it to that one.
 */
export async function summarizeRange(
  context: TableContext,
  plan: ReconcilePlan,
  shape: PlannedShape,
  index: number,
  stop: (lastSubRangeMs: number) => boolean = () => false,
  /** What this call has spent so far (a range reader's invocation), kept with the range's summary. */
  spentHere?: (done: boolean) => Meter,
): Promise<RangeOutcome> {
  const range = plan.ranges.find((r) => r.index === index);
  const keyColumns = rangeKey(shape.key);
  if (range === undefined) throw new Error(`${context.table.key}: the reconcile plan ${plan.id} has no range ${index}`);
  if (keyColumns === undefined) throw new Error(`${context.table.key}: its key cannot be cut into ranges (a column that orders no keyset, or NULL allowed)`);
  const key = summaryKey(context, index);
  const stored = await readObject(context, key, (v) => RangeSummarySchema.parse(v));
  // A summary of an older plan is written over (on its ETag too).
  let etag = stored?.etag;
  let summary = stored?.value.plan === plan.id ? stored.value : emptySummary(plan, index);
  if (summary.done) return { index, done: true, rows: summary.rows, readMs: summary.read_ms };
  const buckets = addBuckets(new Map(), summary.buckets);
  const full: Shape = { ...shape, buckets: plan.buckets };
  const from = quotedTable(context.table);
  const spentBefore = summary.spent;
  const save = async () => {
    const spent = spentHere === undefined ? spentBefore : addMeters(spentBefore, spentHere(summary.done));
    const next: RangeSummary = { ...summary, buckets: bucketRows(buckets), spent };
    try {
      etag = (await context.s3.putJson(context.bucket, key, next, etag === undefined ? { ifNoneMatch: "*" } : { ifMatch: etag })).etag;
      summary = next;
      return true;
    } catch (error) {
      if (error instanceof PreconditionFailedError) return false;
      throw error;
    }
  };
  return withTableSource(context, async (connection) => {
    let savedAt = Date.now();
    let last = 0;
    while (!summary.done && !stop(last)) {
      const started = Date.now();
      const after = summary.cursor ?? range.after;
      // The sub-range ends SUB_RANGE_ROWS keys on, or with the range.
      const step = await queryRow(connection, stepQuery(from, keyColumns, after, SUB_RANGE_ROWS, range.up_to));
      const end = step === undefined ? range.up_to : keyColumns.map((column, i) => keyText(column, step[i]) ?? "");
      const where = rangePredicate(keyColumns, { after, upTo: end });
      const query = summarySql("mysql", from, full, undefined, where);
      const [rows] = await connection.query({ sql: query.sql, values: query.params, rowsAsArray: true });
      let counted = 0;
      addBuckets(
        buckets,
        (rows as unknown[][]).map((r): [number, string, string] => {
          counted += Number(textOf(r[1]) ?? "0");
          return [Number(textOf(r[0])), textOf(r[1]) ?? "0", textOf(r[2]) ?? "0"];
        }),
      );
      last = Date.now() - started;
      summary = { ...summary, cursor: end, done: step === undefined, rows: summary.rows + counted, read_ms: summary.read_ms + last };
      if (summary.done || Date.now() - savedAt >= SAVE_EVERY_MS) {
        if (!(await save())) return { index, done: false, rows: summary.rows, readMs: summary.read_ms };
        savedAt = Date.now();
      }
    }
    if (!summary.done && !(await save())) return { index, done: false, rows: summary.rows, readMs: summary.read_ms };
    return { index, done: summary.done, rows: summary.rows, readMs: summary.read_ms };
  });
}

/**
 * Every range of the plan not read yet, read here, `concurrency` at a time (the CLI's comparison: one process,
 * a connection per reader). Returns the ranges read before this call (a resumed plan's).
 */
export async function summarizeRangesHere(context: TableContext, plan: ReconcilePlan, shape: PlannedShape, concurrency: number): Promise<number[]> {
  const unread = unreadRanges(plan, await rangeSummaries(context, plan));
  const readBefore = plan.ranges.map((r) => r.index).filter((i) => !unread.includes(i));
  await inBatches(unread, concurrency, async (index) => {
    // A reader that lost its range to another process's reader reads it on from that one's summary: each loss is
    // that reader's progress, so the range ends; the bound only guards against a summary that never moves.
    for (let attempt = 1; !(await summarizeRange(context, plan, shape, index)).done; attempt++) {
      if (attempt >= MAX_LOST_SAVES)
        throw new Error(`${context.table.key}: range ${index} of reconcile plan ${plan.id} was not read after ${attempt} attempts`);
    }
  });
  return readBefore;
}
