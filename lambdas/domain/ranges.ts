/**
 * Pure: a table's unique key cut into contiguous ranges, so that several readers can each read one (docs/design.md
 * §14). The ranges are planned from the key's own order in MySQL (services/key-ranges.ts samples it); whatever the
 * plan, they cover the whole key space exactly once — the first starts at the beginning, the last runs to the end,
 * each starts right after the one before ends — so a plan can only be uneven, never lose or repeat a row.
 */
import { z } from "zod";
import { orderBy, tupleBound, type KeyColumn, type SqlFragment } from "./cdc/keyset.ts";
import { emptyMeter, MeterSchema } from "./meter.ts";

/** Rows of the key after `after` (null: from the first) up to and including `upTo` (null: to the last). */
export type KeyRange = {
  index: number;
  after: string[] | null;
  upTo: string[] | null;
  /** Rows the plan found in it (sampled: within a sampling step of the truth when planned). */
  rows: number;
};

/** `processing.parallel_ranges`: planned from the table's size, a number of ranges, or 1 (one reader). */
export type RangeSetting = "auto" | number;

/** The most ranges one table is cut into (and the most readers at once): the source's I/O is the real limit. */
export const MAX_RANGES = 64;

/** `auto`: a range per this many rows at least. Below twice this, a table is read by one reader. */
export const AUTO_RANGE_MIN_ROWS = 1_000_000;

/**
 * How many ranges a table of about `estimatedRows` is read in: `auto` gives a reader per AUTO_RANGE_MIN_ROWS rows, at
 * most `maxParallel`; a number is taken as it is (at most MAX_RANGES); 1 is one reader.
 */
export function rangeCount(setting: RangeSetting, maxParallel: number, estimatedRows: number): number {
  if (setting !== "auto") return Math.max(1, Math.min(setting, MAX_RANGES));
  return Math.max(1, Math.min(maxParallel, MAX_RANGES, Math.floor(estimatedRows / AUTO_RANGE_MIN_ROWS)));
}

/**
 * The ranges between consecutive boundaries (key tuples in the key's order, each the last key of its range), with the
 * rows planned in each. `rows` has one more entry than `boundaries`.
 */
export function rangesBetween(boundaries: readonly string[][], rows: readonly number[]): KeyRange[] {
  if (rows.length !== boundaries.length + 1) throw new Error(`${boundaries.length} boundaries need ${boundaries.length + 1} row counts, got ${rows.length}`);
  return rows.map((count, index) => ({
    index,
    after: index === 0 ? null : (boundaries[index - 1] ?? null),
    upTo: boundaries[index] ?? null,
    rows: count,
  }));
}

/** The range as a MySQL predicate on the key (undefined for the one range that is the whole table). */
export function rangePredicate(key: readonly KeyColumn[], range: Pick<KeyRange, "after" | "upTo">): SqlFragment | undefined {
  const parts = [
    ...(range.after === null ? [] : [tupleBound("mysql", "after", key, range.after)]),
    ...(range.upTo === null ? [] : [tupleBound("mysql", "upTo", key, range.upTo)]),
  ];
  if (parts.length === 0) return undefined;
  return { sql: parts.map((part) => part.sql).join(" AND "), params: parts.flatMap((part) => part.params) };
}

/**
 * Keys after `after` (null: from the first key) up to `upTo` (null: to the last) in the key's order: the part of a
 * query both below share.
 */
function keysBetween(from: string, key: readonly KeyColumn[], after: string[] | null, upTo: string[] | null): SqlFragment {
  const where = rangePredicate(key, { after, upTo });
  return {
    sql: `SELECT ${orderBy(key)} FROM ${from}${where === undefined ? "" : ` WHERE ${where.sql}`} ORDER BY ${orderBy(key)}`,
    params: where?.params ?? [],
  };
}

/** The key `step` keys past `after` (null: from the first key), not past `upTo`: one range scan of `step` index entries. */
export function stepQuery(from: string, key: readonly KeyColumn[], after: string[] | null, step: number, upTo: string[] | null = null): SqlFragment {
  const keys = keysBetween(from, key, after, upTo);
  return { sql: `${keys.sql} LIMIT 1 OFFSET ?`, params: [...keys.params, step - 1] };
}

/** How many keys lie after `after` (not past `upTo`), counted up to `most` (the scan stops there). */
export function countAfterQuery(from: string, key: readonly KeyColumn[], after: string[] | null, most: number, upTo: string[] | null = null): SqlFragment {
  const keys = keysBetween(from, key, after, upTo);
  return { sql: `SELECT COUNT(*) FROM (${keys.sql} LIMIT ?) AS tail`, params: [...keys.params, most] };
}

/** Keys sampled every `step` keys of the key's order, in that order; `tail`: keys after the last sample. */
export type KeySample = { step: number; keys: string[][]; tail: number };

/**
 * Boundaries for `count` ranges of about equal rows from a sample: the sampled key nearest each 1/count of the rows.
 * Fewer ranges when the table has fewer sampled keys than that (a boundary is never used twice).
 */
export function planFromSample(sample: KeySample, count: number): KeyRange[] {
  const total = sample.keys.length * sample.step + sample.tail;
  const chosen: number[] = [];
  for (let i = 1; i < count; i++) {
    // Sample k (0-based) ends the first (k + 1) × step rows.
    const k = Math.round((total * i) / count / sample.step) - 1;
    // Not before the first sample, not twice, and never leaving nothing after it.
    if (k < 0 || k >= sample.keys.length || k <= (chosen.at(-1) ?? -1) || (k + 1) * sample.step >= total) continue;
    chosen.push(k);
  }
  const ends = [...chosen.map((k) => (k + 1) * sample.step), total];
  const rows = ends.map((end, i) => end - (i === 0 ? 0 : (ends[i - 1] ?? 0)));
  return rangesBetween(
    chosen.map((k) => sample.keys[k] ?? []),
    rows,
  );
}

/**
 * A range of the window under way, as the watermark keeps it (`mysql_state.ranges`): its bounds, its own cursor (the
 * last key read; null: nothing yet, it reads from `after`), whether it is read, and what its reader did.
 */
export const RangeStateSchema = z.object({
  index: z.int().nonnegative(),
  after: z.array(z.string()).min(1).nullable(),
  up_to: z.array(z.string()).min(1).nullable(),
  cursor: z.array(z.string()).min(1).nullable(),
  done: z.boolean(),
  rows: z.int().nonnegative(),
  files: z.int().nonnegative(),
  bytes: z.int().nonnegative(),
  /** The range's next file number (its files are numbered in the range: s3-layout.ts dataKey). */
  next_chunk: z.int().nonnegative(),
  read_ms: z.int().nonnegative(),
  /** When its reader began (its first chunk's start) and ended (its last chunk's commit): the table's read rate. */
  started_at: z.string().nullable().default(null),
  ended_at: z.string().nullable().default(null),
  /** The schema the plan was made with (its readers' files carry it): a full_sync window resumes only with the same. */
  schema_key: z.string().nullable().default(null),
  /** What its reader spent, its chunks' meters summed (its child execution returns none: the window's close adds it). */
  spent: MeterSchema.default(emptyMeter),
});
export type RangeState = z.output<typeof RangeStateSchema>;

/** A planned range as its reader starts it. */
export const rangeStateOf = (range: KeyRange, schemaKey: string): RangeState => ({
  index: range.index,
  after: range.after,
  up_to: range.upTo,
  cursor: null,
  done: false,
  rows: 0,
  files: 0,
  bytes: 0,
  next_chunk: 0,
  read_ms: 0,
  started_at: null,
  ended_at: null,
  schema_key: schemaKey,
  spent: emptyMeter(),
});

/** What one range of a window read, carried in the table's progress once the window is closed (docs/design.md §14). */
export const RangeReadSchema = RangeStateSchema.pick({ index: true, rows: true, bytes: true, read_ms: true, started_at: true, ended_at: true });
export type RangeRead = z.output<typeof RangeReadSchema>;

/** The table result line's `ranges`: the table's read rate while its readers ran, and each range's. */
export const RangesLineSchema = z.object({
  count: z.int().positive(),
  read_seconds: z.number().nonnegative(),
  mb: z.number().nonnegative(),
  mb_per_s: z.number().nonnegative(),
  rows_per_s: z.number().nonnegative(),
  per_range: z.array(z.object({ range: z.int().nonnegative(), rows: z.int().nonnegative(), mb: z.number().nonnegative(), mb_per_s: z.number().nonnegative() })),
});
export type RangesLine = z.output<typeof RangesLineSchema>;

export const rangeReadOf = ({ index, rows, bytes, read_ms, started_at, ended_at }: RangeState): RangeRead => ({
  index,
  rows,
  bytes,
  read_ms,
  started_at,
  ended_at,
});

const MB = 1024 * 1024;
/** Tenths: what the line shows of MB and rates. */
const tenths = (value: number) => Math.round(value * 10) / 10;
const perSecond = (amount: number, ms: number) => (ms > 0 ? tenths((amount / ms) * 1000) : 0);

/**
 * The result line's `ranges`: each range's rows, MB and MB/s (over its reader's own time), and the table's: MB over
 * the wall time from the first reader's start to the last one's end — the source's read rate while they all read.
 */
export function rangesLine(reads: readonly RangeRead[]): RangesLine {
  const starts = reads.flatMap((r) => (r.started_at === null ? [] : [Date.parse(r.started_at)]));
  const ends = reads.flatMap((r) => (r.ended_at === null ? [] : [Date.parse(r.ended_at)]));
  const wallMs = starts.length > 0 && ends.length > 0 ? Math.max(...ends) - Math.min(...starts) : 0;
  const bytes = reads.reduce((sum, r) => sum + r.bytes, 0);
  return {
    count: reads.length,
    read_seconds: tenths(wallMs / 1000),
    mb: tenths(bytes / MB),
    mb_per_s: perSecond(bytes / MB, wallMs),
    rows_per_s: Math.round(
      perSecond(
        reads.reduce((sum, r) => sum + r.rows, 0),
        wallMs,
      ),
    ),
    per_range: reads.map((r) => ({ range: r.index, rows: r.rows, mb: tenths(r.bytes / MB), mb_per_s: perSecond(r.bytes / MB, r.read_ms) })),
  };
}
