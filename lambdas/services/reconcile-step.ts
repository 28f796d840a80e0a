/**
 * Mode reconcile's step (ExtractChunk's place in the definition): a table compared whole, its differences deleted or
 * staged; the loads that follow merge them. A table big enough for key ranges (docs/design.md §13) is compared in two
 * turns: the first call plans its ranges and hands them to ReadRanges — the same Distributed Map a sync's ranges
 * take, each reader summarizing its range (range mode) — and the call after them compares the ranges' summed summary
 * with Redshift's. A crash resumes the plan: the ranges read stay read.
 */
import { rangePlanKey } from "#domain/s3-layout.ts";
import type { Progress } from "#shared/steps.ts";
import { NOWHERE } from "./begin.ts";
import type { ChunkResult } from "./extract-chunk.ts";
import type { LoadContext } from "./load.ts";
import { comparisonShape } from "./reconcile.ts";
import { reconcileAndStage } from "./reconcile-repair.ts";
import { comparisonPlan, rangeSummaries, readersSpent, storedPlan, summarizeRange, unreadRanges } from "./reconcile-ranges.ts";
import { addMeters, STEP_TRANSITIONS } from "#domain/cost.ts";
import { emptyMeter, type Meter } from "#domain/meter.ts";
import { spentHere } from "#shared/meter.ts";
import { planFingerprint, resumable } from "#domain/reconcile/range-plan.ts";
import { pendingFiles, withTableSource } from "./sync-context.ts";

type Step = { progress: Progress; chunk: ChunkResult };

const nothingRead = (durationMs: number, done: boolean): ChunkResult => ({
  done,
  cursor: NOWHERE,
  rows: 0,
  files: 0,
  bytes: 0,
  durationMs,
  file: undefined,
  runRows: 0,
  lateRows: 0,
  windowsReread: 0,
});

const counted = (progress: Progress, durationMs: number) => ({
  chunks: progress.chunks + 1,
  chunksHere: progress.chunksHere + 1,
  extractMs: progress.extractMs + durationMs,
});

/** The step: `range` — a range reader's next part of its range; else the table's ranges handed out, or the comparison. */
export async function reconcileStep(context: LoadContext, progress: Progress, deadline: number, range?: number): Promise<Step> {
  const started = Date.now();
  if (range !== undefined) return summarizeStep(context, progress, deadline, range, started);
  const { ranges, spent } = await rangesForReaders(context);
  if (ranges !== undefined && ranges.left > 0) {
    const durationMs = Date.now() - started;
    return { chunk: nothingRead(durationMs, false), progress: { ...progress, done: false, ranges, ...counted(progress, durationMs) } };
  }
  // The readers ReadRanges ran for this table (their meters, and ReadRanges' own states), once, as the comparison ends.
  const readers =
    progress.ranges === undefined || spent === undefined ? emptyMeter() : { ...spent, transitions: spent.transitions + STEP_TRANSITIONS.readRanges };
  const { counts, staged } = await reconcileAndStage(context, { ranges: ranges === undefined ? "off" : "read" });
  const durationMs = Date.now() - started;
  const chunk: ChunkResult = {
    ...nothingRead(durationMs, true),
    rows: counts.reloaded,
    files: staged.file === undefined ? 0 : 1,
    file: staged.file,
    runRows: counts.reloaded,
  };
  return {
    chunk,
    progress: {
      ...progress,
      done: true,
      rows: counts.reloaded,
      files: chunk.files,
      ...(ranges === undefined ? {} : { ranges }),
      meter: addMeters(progress.meter, readers),
      ...counted(progress, durationMs),
      pendingFiles: await pendingFiles(context),
      reconcile: counts,
    },
  };
}

/**
 * The table's ranges as ReadRanges reads them (undefined: one pass): the plan — resumed, or made now — and the
 * ranges not read yet, listed in S3 for the Distributed Map's ItemReader.
 */
async function rangesForReaders(context: LoadContext): Promise<{ ranges?: Progress["ranges"]; spent?: Meter }> {
  const plan = await withTableSource(context, async (connection) => comparisonPlan(context, connection, await comparisonShape(context, connection)));
  if (plan === undefined) return {};
  const summaries = await rangeSummaries(context, plan);
  const unread = unreadRanges(plan, summaries);
  const now = context.now().toISOString();
  const key = rangePlanKey(context.pipeline.s3.isolation_prefix, context.pipeline.name, context.table.key, now);
  if (unread.length > 0) {
    await context.s3.putJson(
      context.bucket,
      key,
      unread.map((index) => ({ index })),
    );
  }
  return {
    ranges: {
      left: unread.length,
      total: plan.ranges.length,
      plan: { bucket: context.bucket, key },
      concurrency: Math.min(context.table.processing.max_parallel_ranges, plan.ranges.length),
    },
    spent: readersSpent(summaries),
  };
}

/** Room kept before the call's deadline: twice the last sub-range's time, and this. */
const DEADLINE_MARGIN_MS = 5_000;

/** A range reader's call: its range summarized on from where it stands, until it is read or the call must return. */
async function summarizeStep(context: LoadContext, progress: Progress, deadline: number, range: number, started: number): Promise<Step> {
  // The shape on a session of its own, closed before the range is read on another (summarizeRange's).
  const [shape, plan] = await Promise.all([withTableSource(context, (connection) => comparisonShape(context, connection)), storedPlan(context)]);
  const stop = (lastMs: number) => Date.now() + 2 * lastMs + DEADLINE_MARGIN_MS > deadline;
  // No plan of this shape any more (closed, or the table changed): nothing for this reader; the comparison plans anew.
  // This invocation's meter is kept with its range (a reader's child execution returns none).
  const outcome = resumable(plan, planFingerprint(shape.key, shape.compared, shape.hash), context.now())
    ? await summarizeRange(context, plan, shape, range, stop, (done) => spentHere(STEP_TRANSITIONS.extractRange(done)))
    : undefined;
  const durationMs = Date.now() - started;
  return {
    chunk: { ...nothingRead(durationMs, outcome?.done ?? true), rows: outcome?.rows ?? 0 },
    progress: { ...progress, rangeDone: outcome?.done ?? true, ...counted(progress, durationMs) },
  };
}
