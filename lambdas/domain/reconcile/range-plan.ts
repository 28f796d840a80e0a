/**
 * Pure: reconciliation's comparison cut into key ranges (docs/design.md §13). MySQL's side of the whole-table pass —
 * per bucket, a row count and a sum of row hashes — is additive: each key range is summarized by its own reader and
 * the ranges' summaries are summed, bucket by bucket, into the whole table's. Buckets come from the key's hash, not its
 * order, so they are the same in both engines whatever the collation; only MySQL is cut, in its own key order, and
 * Redshift is summarized whole. A plan outlives a crash: its ranges read are kept (S3), the others read on.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { TableColumn } from "#domain/table-schema.ts";
import type { KeyRange } from "#domain/ranges.ts";
import type { RowHash } from "./canonical.ts";
import { addBuckets, type Summary } from "./summary.ts";
import { emptyMeter, MeterSchema } from "#domain/meter.ts";

/** A plan older than this is not resumed: its ranges' summaries would differ from the table in too many buckets. */
export const PLAN_RESUME_HOURS = 24;

const KeySchema = z.array(z.string()).nullable();

/** A table's comparison plan: the shape every range is summarized in, and the ranges. */
export const ReconcilePlanSchema = z.object({
  /** Names the plan (its creation time): a range summary of another plan is not this plan's. */
  id: z.string(),
  /** The key, the compared columns and the row hash: a plan is resumed only by a comparison of this shape. */
  fingerprint: z.string(),
  buckets: z.int().positive(),
  hash: z.enum(["crc32c", "md5"]),
  ranges: z.array(z.object({ index: z.int().nonnegative(), after: KeySchema, up_to: KeySchema, rows: z.number().nonnegative() })),
  /** Set once the comparison has used the ranges' summaries: the next comparison plans anew. */
  closed_at: z.string().nullable(),
});
export type ReconcilePlan = z.output<typeof ReconcilePlanSchema>;

/** One range's summary so far: the last key it summarized (null: none yet), whether it is read, and its buckets. */
export const RangeSummarySchema = z.object({
  plan: z.string(),
  index: z.int().nonnegative(),
  cursor: KeySchema,
  done: z.boolean(),
  rows: z.number().nonnegative(),
  read_ms: z.number().nonnegative(),
  /** [bucket, rows, sum of row hashes] */
  buckets: z.array(z.tuple([z.int().nonnegative(), z.string(), z.string()])),
  /** What its readers spent (mode reconcile's range readers: a child execution returns no meter). */
  spent: MeterSchema.default(emptyMeter),
});
export type RangeSummary = z.output<typeof RangeSummarySchema>;

/** What a comparison is made of, whatever the bucket count: a plan of another shape is not resumed. */
export function planFingerprint(key: readonly TableColumn[], compared: readonly TableColumn[], hash: RowHash): string {
  const columns = (list: readonly TableColumn[]) => list.map((c) => [c.source, c.sourceType]);
  return createHash("sha256")
    .update(JSON.stringify({ key: columns(key), compared: columns(compared), hash }))
    .digest("hex");
}

export function newPlan(ranges: readonly KeyRange[], shape: { fingerprint: string; buckets: number; hash: RowHash }, now: Date): ReconcilePlan {
  return {
    id: now.toISOString(),
    fingerprint: shape.fingerprint,
    buckets: shape.buckets,
    hash: shape.hash,
    ranges: ranges.map((r) => ({ index: r.index, after: r.after, up_to: r.upTo, rows: r.rows })),
    closed_at: null,
  };
}

/** Whether a stored plan is resumed: open, of this shape, and recent. */
export function resumable(plan: ReconcilePlan | undefined, fingerprint: string, now: Date): plan is ReconcilePlan {
  if (plan === undefined || plan.closed_at !== null || plan.fingerprint !== fingerprint) return false;
  return now.getTime() - new Date(plan.id).getTime() < PLAN_RESUME_HOURS * 3600_000;
}

/** A range's summary before its first sub-range. */
export const emptySummary = (plan: ReconcilePlan, index: number): RangeSummary => ({
  plan: plan.id,
  index,
  cursor: null,
  done: false,
  rows: 0,
  read_ms: 0,
  buckets: [],
  spent: emptyMeter(),
});

/**
 * The whole table's MySQL summary from its ranges' — undefined while a range of the plan is not read (or its summary
 * belongs to another plan).
 */
export function mergedSummary(plan: ReconcilePlan, summaries: readonly (RangeSummary | undefined)[]): Map<number, Summary> | undefined {
  const merged = new Map<number, Summary>();
  for (const range of plan.ranges) {
    const summary = summaries.find((s) => s?.index === range.index && s.plan === plan.id);
    if (summary?.done !== true) return undefined;
    addBuckets(merged, summary.buckets);
  }
  return merged;
}
