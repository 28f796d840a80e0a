/**
 * Pure: the watermark's transitions for a window read as key ranges (docs/design.md §14). The ranges are set once per
 * window (a resumed window keeps them); each range's chunk commits its own cursor and file, as a one-reader chunk
 * commits the table's; the window ends, as always, in commitChunk, once every range is read.
 */
import type { Position } from "./cdc/types.ts";
import { rangeStateOf, type KeyRange, type RangeState } from "./ranges.ts";
import { addMeters } from "./cost.ts";
import { emptyMeter, type Meter } from "./meter.ts";
import { countedChunk, LeaseLostError, type Watermark } from "./watermark.ts";

/** The window's ranges as planned — unless it has its ranges already (a retried Begin, a resumed window). */
export function planRanges(watermark: Watermark, runId: string, ranges: readonly KeyRange[], now: Date, schemaKey: string): Watermark {
  const state = watermark.mysql_state;
  if (state.run_id !== runId) throw new LeaseLostError(`${watermark.pipeline}/${watermark.table_name}: run ${runId} does not hold the table`);
  if (state.ranges.length > 0 || ranges.length <= 1) return watermark;
  if (state.window_rows > 0) {
    throw new Error(`${watermark.pipeline}/${watermark.table_name}: the window has ${state.window_rows} rows read by one reader; it is not cut into ranges`);
  }
  return { ...watermark, mysql_state: { ...state, ranges: ranges.map((range) => rangeStateOf(range, schemaKey)) }, updated_at: now.toISOString() };
}

export type RangeChunkCommit = {
  runId: string;
  range: number;
  /** The range's cursor after the chunk (the last key read). */
  cursor: Position;
  rows: number;
  file: string | undefined;
  bytes: number;
  zeroDates: Record<string, number>;
  /** The range is read to its end. */
  done: boolean;
  readMs: number;
  now: Date;
  leaseSeconds: number;
  /** What this chunk's invocation spent (up to the commit): added to the range's. */
  spent?: Meter;
};

/** The range the run reads (it must be one of the window's). */
export function rangeOf(watermark: Watermark, index: number): RangeState {
  const range = watermark.mysql_state.ranges.find((r) => r.index === index);
  if (range === undefined) {
    throw new Error(
      `${watermark.pipeline}/${watermark.table_name}: the window has no range ${index} (ranges: ${watermark.mysql_state.ranges.length}); run Begin first`,
    );
  }
  return range;
}

/** What the readers of the window's ranges spent, all together. */
export const rangesSpent = (watermark: Watermark): Meter => watermark.mysql_state.ranges.reduce((sum, range) => addMeters(sum, range.spent), emptyMeter());

/** Commits one chunk of a range: its cursor and counts move, its file is pending load, the window's rows grow. */
export function commitRangeChunk(watermark: Watermark, commit: RangeChunkCommit): Watermark {
  const counted = countedChunk(watermark, commit);
  const range = rangeOf(watermark, commit.range);
  if (range.done) return watermark;
  const next: RangeState = {
    ...range,
    cursor: commit.cursor.key ?? range.cursor,
    done: commit.done,
    rows: range.rows + commit.rows,
    files: range.files + (commit.file === undefined ? 0 : 1),
    bytes: range.bytes + commit.bytes,
    next_chunk: range.next_chunk + (commit.file === undefined ? 0 : 1),
    read_ms: range.read_ms + commit.readMs,
    started_at: range.started_at ?? new Date(commit.now.getTime() - commit.readMs).toISOString(),
    ended_at: commit.done ? commit.now.toISOString() : range.ended_at,
    spent: commit.spent === undefined ? range.spent : addMeters(range.spent, commit.spent),
  };
  return {
    ...watermark,
    ...counted,
    mysql_state: {
      ...counted.mysql_state,
      window_rows: watermark.mysql_state.window_rows + commit.rows,
      ranges: watermark.mysql_state.ranges.map((r) => (r.index === commit.range ? next : r)),
    },
  };
}

/** The window's ranges not read yet (0 when it has none, or all are read). */
export const rangesLeft = (watermark: Watermark): number => watermark.mysql_state.ranges.filter((r) => !r.done).length;

/**
 * The window's ranges as windows of a strategy whose window is bounded by its key (id_only): the first from the
 * window's start, the last to its ceiling — what each range's late rows are counted and read again in.
 */
export function rangeWindows(watermark: Watermark, start: Position | null, ceiling: Position): { start: Position | null; end: Position; rows: number }[] {
  return watermark.mysql_state.ranges.map((range) => ({
    start: range.after === null ? start : { timestamp: null, key: range.after },
    end: range.up_to === null ? ceiling : { timestamp: null, key: range.up_to },
    rows: range.rows,
  }));
}
