/**
 * Pure: the watermark v2 contract (docs/design.md §5) and its transitions. The store (adapters/watermark-store.ts) applies
 * a transition with a conditional write, so every change here is all-or-nothing and two writers never both win.
 *
 * Additive fields beyond the contract's example: `last_processed_key` (the cursor's unique key as a tuple, beside
 * `last_processed_id`, which holds its first value), `ceiling.key` likewise; in mysql_state `lease_expires_at` (the
 * run's lease), `run_started_at` (names the run's files), `next_chunk` (the table's next file number, never reused: a
 * retried chunk rewrites its own file, and two runs in the same second still name different files), `zero_dates`
 * (zero dates turned into NULL by the run, per column), `cursor_columns` (the key the tuple belongs to),
 * `window_start`/`window_rows` (the extraction window under way: where it started, rows extracted since — kept
 * across a failed run and its resume), `recent_windows` (the last windows extracted, oldest first, kept after their
 * validation: the next id_only run counts them again for rows committed into them late); in s3_state
 * `pending_validation` (extracted windows whose load has not been validated yet: every load validates them, whichever
 * run loads their files).
 */
import { z } from "zod";
import { CdcStrategySchema } from "#config/schema.ts";
import type { Position } from "./cdc/types.ts";
import { fromIsoTimestamp, rewind, toIsoTimestamp } from "./cdc/timestamps.ts";
import { RangeStateSchema } from "./ranges.ts";

/**
 * The windows an id_only run counts again for late rows: every window extracted in the last RECENT_WINDOWS_SECONDS —
 * however many runs that was: runs back to back every second would otherwise push a window out before a long
 * transaction's rows in it commit — in at most RECENT_WINDOWS_KEPT windows (beyond, the oldest adjacent ones merge: a
 * late row in a merged window re-reads all of it), as long as they hold no more than RECENT_WINDOWS_MAX_ROWS together
 * (their count is an index range scan each, inside Begin's time: ~10 s per 50M rows, docs/benchmarks.md). A huge
 * first read is not counted again; the window count at its end covered the rows committed while it ran.
 */
export const RECENT_WINDOWS_SECONDS = 3600;
export const RECENT_WINDOWS_KEPT = 24;
export const RECENT_WINDOWS_MAX_ROWS = 50_000_000;

/** How many processed file keys the watermark keeps; the full history is the load ledger in Redshift. */
export const PROCESSED_FILES_KEPT = 200;

const KeyTupleSchema = z.array(z.string()).min(1);
const CeilingSchema = z.object({ timestamp: z.string().nullable(), id: z.string().nullable(), key: KeyTupleSchema.nullable().default(null) });

/** A position as the watermark stores it: ISO timestamp, key tuple. */
const StoredPositionSchema = z.object({ timestamp: z.string().nullable(), key: KeyTupleSchema.nullable() });
export type StoredPosition = z.output<typeof StoredPositionSchema>;

const RereadHistorySchema = z.object({
  /** Re-reads of the window so far. */
  attempts: z.number().int().nonnegative(),
  /** Consecutive times it was found short again with the same MySQL count (no new commit into it). */
  unchanged: z.number().int().nonnegative(),
  /** MySQL's count of the window when it was last counted. */
  mysql_rows: z.number().int().nonnegative(),
});
export type RereadHistory = z.output<typeof RereadHistorySchema>;

/** An extracted window: rows after `start` (a position with neither timestamp nor key: from the beginning) up to `end`. */
export const WindowSchema = z.object({
  start: StoredPositionSchema.nullable(),
  end: StoredPositionSchema,
  rows: z.number().int().nonnegative(),
  run_id: z.string(),
  /** The schema the window's files were written with (its columns are what validation compares). */
  schema_key: z.string(),
  /** The window was re-read (late rows): what its earlier re-reads found, for telling a live source from a loss. */
  reread: RereadHistorySchema.optional(),
  /** When it was extracted (of a merged window, its newest part): it is counted again until RECENT_WINDOWS_SECONDS later. */
  extracted_at: z.string().optional(),
});
export type ExtractedWindow = z.output<typeof WindowSchema>;

/**
 * A window that MySQL holds more rows of than were loaded from it is re-read, at most this many times in a row while
 * its MySQL count stays the same (no writer adds to it): then the rows missing are not late commits, and the table
 * fails naming the window and the repair.
 */
export const MAX_UNCHANGED_REREADS = 3;

/** A window to read again: MySQL held more rows of it than were extracted or loaded (rows committed late). */
export const LateWindowSchema = WindowSchema.extend({
  /** Rows MySQL held beyond what was loaded when it was found short. */
  late_rows: z.number().int().nonnegative(),
  reread: RereadHistorySchema,
  /** The run that found it short after its own re-read: that run does not read it again (the next one does). */
  after_run: z.string().nullable(),
  /**
   * A key range of a window read in ranges: that window's span. Its re-read adds what it found to that window's rows
   * in recent_windows, or the next run's recount would find the window short and read all of it again.
   */
  within: z.object({ start: StoredPositionSchema.nullable(), end: StoredPositionSchema }).optional(),
});
export type LateWindow = z.output<typeof LateWindowSchema>;

export const WatermarkSchema = z.object({
  version: z.literal(2),
  pipeline: z.string(),
  table_name: z.string(),
  cdc_strategy: CdcStrategySchema,
  last_mysql_data_timestamp: z.string().nullable(),
  last_processed_id: z.string().nullable(),
  last_processed_key: KeyTupleSchema.nullable().default(null),
  mysql_state: z.object({
    status: z.enum(["pending", "in_progress", "success", "failed"]),
    total_rows: z.number().int().nonnegative(),
    last_session_rows: z.number().int().nonnegative(),
    run_id: z.string().nullable(),
    ceiling: CeilingSchema.nullable(),
    last_error: z.string().nullable(),
    run_started_at: z.string().nullable().default(null),
    lease_expires_at: z.string().nullable().default(null),
    next_chunk: z.number().int().nonnegative().default(0),
    zero_dates: z.record(z.string(), z.number().int()).default({}),
    cursor_columns: z.array(z.string()).nullable().default(null),
    /** Where the run holding the lease began (host and process): `mrsync watermark release` checks it is gone. */
    lease_holder: z.object({ host: z.string(), pid: z.number().int() }).nullable().default(null),
    window_start: StoredPositionSchema.nullable().default(null),
    window_rows: z.number().int().nonnegative().default(0),
    recent_windows: z.array(WindowSchema).default([]),
    /** Windows to read again, oldest first: each run re-reads them after its own window (late_rows). */
    late_windows: z.array(LateWindowSchema).default([]),
    /** The re-read under way: its cursor inside late_windows' first eligible window, and rows read so far. */
    reread_cursor: StoredPositionSchema.nullable().default(null),
    reread_rows: z.number().int().nonnegative().default(0),
    /** What the table's last successful run cost, estimated (USD; domain/cost.ts): `mrsync status` shows it. */
    last_run_cost_usd: z.number().nonnegative().nullable().default(null),
    /** The window under way read as key ranges, each by its own reader (domain/range-state.ts); empty: one reader. */
    ranges: z.array(RangeStateSchema).default([]),
  }),
  s3_state: z.object({
    backup_s3_files: z.array(z.string()),
    processed_s3_files: z.array(z.string()),
    pending_validation: z.array(WindowSchema).default([]),
  }),
  redshift_state: z.object({
    status: z.enum(["pending", "in_progress", "success", "failed"]),
    rows_loaded: z.number().int().nonnegative(),
    last_load_id: z.string().nullable(),
    last_loaded_at: z.string().nullable(),
    /** Statements of a load (by load id) that ended FAILED or ABORTED: its next submission is a new attempt. */
    failed_loads: z.record(z.string(), z.array(z.string())).default({}),
  }),
  updated_at: z.string(),
  /** The write that produced this version (adapters/watermark-store.ts): a retried write recognises itself by it. */
  write_id: z.string().nullable().default(null),
});

export type Watermark = z.output<typeof WatermarkSchema>;

/** Another run holds the table: the second run fails fast instead of racing the first. */
export class LeaseHeldError extends Error {
  override readonly name = "LeaseHeldError";
}

/** This run no longer holds the table (reset by an operator, or taken over after its lease expired). */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

/** No window under way, none kept, none to read again: a new table, a reset, an operator's cursor. */
const noWindows = (): Pick<Watermark["mysql_state"], "window_start" | "window_rows" | "recent_windows" | "late_windows" | "reread_cursor" | "reread_rows"> => ({
  window_start: null,
  window_rows: 0,
  recent_windows: [],
  late_windows: [],
  reread_cursor: null,
  reread_rows: 0,
});

export function newWatermark(pipeline: string, table: string, strategy: Watermark["cdc_strategy"], now: Date): Watermark {
  return {
    version: 2,
    pipeline,
    table_name: table,
    cdc_strategy: strategy,
    last_mysql_data_timestamp: null,
    last_processed_id: null,
    last_processed_key: null,
    mysql_state: {
      status: "pending",
      total_rows: 0,
      last_session_rows: 0,
      run_id: null,
      ceiling: null,
      last_error: null,
      run_started_at: null,
      lease_expires_at: null,
      last_run_cost_usd: null,
      ranges: [],
      next_chunk: 0,
      zero_dates: {},
      cursor_columns: null,
      lease_holder: null,
      ...noWindows(),
    },
    s3_state: { backup_s3_files: [], processed_s3_files: [], pending_validation: [] },
    redshift_state: { status: "pending", rows_loaded: 0, last_load_id: null, last_loaded_at: null, failed_loads: {} },
    updated_at: now.toISOString(),
    write_id: null,
  };
}

/** A stored position (ISO timestamp) → MySQL's text form. */
export const fromStored = (stored: StoredPosition): Position => ({
  timestamp: stored.timestamp === null ? null : fromIsoTimestamp(stored.timestamp),
  key: stored.key,
});
export const toStored = (position: Position): StoredPosition => ({
  timestamp: position.timestamp === null ? null : toIsoTimestamp(position.timestamp),
  key: position.key,
});

/** A key tuple, or the single id of a watermark written before tuples (last_processed_id alone). */
const keyOf = (key: string[] | null | undefined, id: string | null | undefined): string[] | null => key ?? (id === null || id === undefined ? null : [id]);

/** The committed cursor, in MySQL's text form for timestamps. */
export function cursorOf(watermark: Watermark): Position {
  return {
    timestamp: watermark.last_mysql_data_timestamp === null ? null : fromIsoTimestamp(watermark.last_mysql_data_timestamp),
    key: keyOf(watermark.last_processed_key, watermark.last_processed_id),
  };
}

export function ceilingOf(watermark: Watermark): Position {
  const ceiling = watermark.mysql_state.ceiling;
  if (ceiling === null) return { timestamp: null, key: null };
  return { timestamp: ceiling.timestamp === null ? null : fromIsoTimestamp(ceiling.timestamp), key: keyOf(ceiling.key, ceiling.id) };
}

const withCursor = (watermark: Watermark, cursor: Position): Watermark => ({
  ...watermark,
  last_mysql_data_timestamp: cursor.timestamp === null ? null : toIsoTimestamp(cursor.timestamp),
  last_processed_id: cursor.key?.[0] ?? null,
  last_processed_key: cursor.key,
});

/** The key columns changed since the cursor was written: its tuple means something else now. */
export class CursorKeyChangedError extends Error {
  override readonly name = "CursorKeyChangedError";
}

function holder(watermark: Watermark, now: Date): string | undefined {
  const state = watermark.mysql_state;
  if (state.run_id === null || state.lease_expires_at === null) return undefined;
  return Date.parse(state.lease_expires_at) > now.getTime() ? state.run_id : undefined;
}

export type BeginRun = {
  runId: string;
  /** The table's strategy now: a changed strategy keeps the cursor (hybrid and timestamp_only share it). */
  strategy: Watermark["cdc_strategy"];
  ceiling: Position;
  now: Date;
  leaseSeconds: number;
  lookbackSeconds: number;
  /** full_sync reads the whole table each run: its cursor starts over (but a window left in key ranges: beginRun). */
  restart: boolean;
  /** The schema this run reads with (a full_sync window left in key ranges resumes only with the one it was planned with). */
  schemaKey?: string;
  /** The unique key the cursor tuple is made of (empty: the strategy has none). */
  cursorColumns: string[];
  /** Where Begin runs (recorded with the lease). */
  holder?: { host: string; pid: number };
  /** Windows found holding rows committed into them late (id_only's recount of the recent windows): read again. */
  lateWindows?: LateWindow[];
};

const sameColumns = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((c, i) => c.toLowerCase() === b[i]?.toLowerCase());

/** The cursor's tuple must belong to the key the run pages on, or the run would read from a meaningless place. */
function checkCursorColumns(watermark: Watermark, cursor: Position, columns: readonly string[]): void {
  if (cursor.key === null || columns.length === 0) return;
  const stored = watermark.mysql_state.cursor_columns;
  const matches = stored === null ? cursor.key.length === columns.length : sameColumns(stored, columns);
  if (matches) return;
  throw new CursorKeyChangedError(
    `${watermark.pipeline}/${watermark.table_name}: the cursor ${JSON.stringify(cursor.key)} was written for key (${stored?.join(", ") ?? `${cursor.key.length} column(s)`}), ` +
      `the table now pages on (${columns.join(", ")}); re-read the table (mrsync watermark reset) or set the cursor for the new key (mrsync watermark set --key '[…]')`,
  );
}

/**
 * Takes the table's lease for a run and records its ceiling. A retried Begin of the same run changes nothing.
 * A new run after a successful one starts at the cursor (rewound by lookback); after a failed or abandoned run it
 * resumes at the last committed chunk, and its files still pending load stay listed (full_sync starts over).
 */
export function beginRun(watermark: Watermark, begin: BeginRun): Watermark {
  const state = watermark.mysql_state;
  if (state.run_id === begin.runId && state.status === "in_progress") return watermark;
  const unfinished = (state.status === "failed" || state.status === "in_progress") && state.window_start !== null;
  // full_sync starts over, except a window read in key ranges that a gone run left unfinished, planned with this run's
  // schema: its ranges read stay read and their files stay pending — the files of both runs hold the table once, and
  // load together (one schema, one pass: one replace). A 1B-row table killed at 90 % is not read again whole.
  const restart = begin.restart && !(unfinished && state.ranges.length > 0 && state.ranges.every((r) => r.schema_key === begin.schemaKey));
  const other = holder(watermark, begin.now);
  if (other !== undefined && other !== begin.runId) {
    const where = state.lease_holder === null ? "" : `, begun on ${state.lease_holder.host} by process ${state.lease_holder.pid}`;
    throw new LeaseHeldError(
      `${watermark.pipeline}/${watermark.table_name} is being synced by run ${other} (lease until ${state.lease_expires_at ?? "?"}${where}); ` +
        `wait for it to finish; if that run is gone (a crashed local run, an execution stopped or timed out): ` +
        `mrsync watermark release -p ${watermark.pipeline} -t ${watermark.table_name} [--state-machine-arn ARN]`,
    );
  }
  let cursor = cursorOf(watermark);
  // Windows of another strategy are not the key ranges this one would count.
  const recentWindows = watermark.cdc_strategy === begin.strategy ? state.recent_windows : [];
  if (restart) cursor = { timestamp: null, key: null };
  else {
    checkCursorColumns(watermark, cursor, begin.cursorColumns);
    if (state.status === "success" && begin.lookbackSeconds > 0 && cursor.timestamp !== null) {
      cursor = { timestamp: rewind(cursor.timestamp, begin.lookbackSeconds), key: null };
    }
  }
  // A run resuming a failed or abandoned one continues its window; any other run starts a window at its cursor
  // (window_start null: a watermark written before windows were recorded).
  const resumes = !restart && unfinished;
  return {
    ...withCursor(watermark, cursor),
    cdc_strategy: begin.strategy,
    // A full_sync run re-reads everything: files of an earlier, unfinished run are superseded, not loaded.
    s3_state: restart ? { ...watermark.s3_state, backup_s3_files: [] } : watermark.s3_state,
    mysql_state: {
      ...state,
      status: "in_progress",
      run_id: begin.runId,
      ceiling: { ...toStored(begin.ceiling), id: begin.ceiling.key?.[0] ?? null },
      cursor_columns: begin.cursorColumns.length === 0 ? null : begin.cursorColumns,
      lease_holder: begin.holder ?? null,
      window_start: resumes ? state.window_start : toStored(cursor),
      window_rows: resumes ? state.window_rows : 0,
      // A resumed window keeps its ranges (only those not read are read), but runs on to this run's ceiling: its last
      // range reads on from its cursor. A new window plans its own.
      ranges: resumes ? state.ranges.map((range) => (range.up_to === null ? { ...range, done: false } : range)) : [],
      recent_windows: recentWindows,
      late_windows: restart ? [] : queued(watermark.cdc_strategy === begin.strategy ? state.late_windows : [], begin.lateWindows ?? []),
      // A re-read a gone run left half done starts over (its files stay pending, loaded as their own pass).
      reread_cursor: null,
      reread_rows: 0,
      last_error: null,
      last_session_rows: 0,
      run_started_at: begin.now.toISOString(),
      lease_expires_at: new Date(begin.now.getTime() + begin.leaseSeconds * 1000).toISOString(),
      zero_dates: {},
    },
    updated_at: begin.now.toISOString(),
  };
}

function assertHolds(watermark: Watermark, runId: string): void {
  if (watermark.mysql_state.run_id !== runId) {
    throw new LeaseLostError(
      `${watermark.pipeline}/${watermark.table_name}: run ${runId} no longer holds the table (now ${watermark.mysql_state.run_id ?? "nobody"}); ` +
        "its last chunk was not committed and will be re-read by the next run",
    );
  }
}

export type ChunkCommit = {
  runId: string;
  cursor: Position;
  rows: number;
  file: string | undefined;
  zeroDates: Record<string, number>;
  done: boolean;
  /**
   * When done: where the extracted window ends (the ceiling; the cursor when --limit stopped the run early). The
   * window is then listed for validation by the load that loads its files.
   */
  windowEnd?: Position;
  /**
   * When done: MySQL's count of the window at its end, where it exceeds the rows extracted (rows committed into it
   * while it was read): the window is read again instead of validated — or, given `parts` (the key ranges of a window
   * whose cursor is its key, each counted), only the parts MySQL holds more rows of, the others validated.
   */
  short?: { mysqlRows: number; parts?: ShortPart[] };
  schemaKey?: string;
  now: Date;
  leaseSeconds: number;
};

/** What identifies a window in the lists: its span (a window read again keeps it). */
const spanOf = (window: Pick<ExtractedWindow, "start" | "end">): string => JSON.stringify([window.start, window.end]);

/** A key range of a window found short: its bounds (in the window's cursor space), rows read, and MySQL's count. */
export type ShortPart = { start: Position | null; end: Position; rows: number; mysqlRows: number };

/** A window MySQL holds `mysqlRows` of, where `loadedRows` were extracted or loaded. */
export type ShortWindow = { window: ExtractedWindow; mysqlRows: number; loadedRows: number };

/**
 * The window's entry in late_windows. Its history comes along: found short again with the same MySQL count as when
 * it was last counted, no commit went into it since — `unchanged` grows (MAX_UNCHANGED_REREADS).
 */
export function lateWindowOf(short: ShortWindow, afterRun: string | null): LateWindow {
  const { reread: previous, ...window } = short.window;
  const unchanged = previous !== undefined && previous.mysql_rows === short.mysqlRows ? previous.unchanged + 1 : 0;
  return {
    ...window,
    late_rows: Math.max(0, short.mysqlRows - short.loadedRows),
    reread: { attempts: previous?.attempts ?? 0, unchanged, mysql_rows: short.mysqlRows },
    after_run: afterRun,
  };
}

/** `found` added to the queue; a window queued already keeps its entry. */
function queued(queue: readonly LateWindow[], found: readonly LateWindow[]): LateWindow[] {
  const spans = new Set(queue.map(spanOf));
  return [...queue, ...found.filter((w) => !spans.has(spanOf(w)))];
}

/** The window this run reads again next (after its own window), if any. */
export function nextReread(watermark: Watermark, runId: string): LateWindow | undefined {
  return watermark.mysql_state.late_windows.find((w) => w.after_run !== runId);
}

/** Two windows one after the other, of one schema and never read again, count as one: the older's start to the newer's end. */
function mergeable(older: ExtractedWindow, newer: ExtractedWindow): boolean {
  return (
    older.start !== null &&
    JSON.stringify(older.end) === JSON.stringify(newer.start) &&
    older.schema_key === newer.schema_key &&
    older.reread === undefined &&
    newer.reread === undefined
  );
}

/**
 * The windows counted again (RECENT_WINDOWS_SECONDS): the newest within RECENT_WINDOWS_MAX_ROWS (none when the newest
 * alone is larger), those extracted in the last RECENT_WINDOWS_SECONDS (a window from before the field existed: only
 * within the newest RECENT_WINDOWS_KEPT, as before), merged from the oldest on down to RECENT_WINDOWS_KEPT windows;
 * a window that cannot merge (re-read, another schema, not adjacent) is dropped, oldest first, only when nothing can.
 */
export function keptWindows(windows: readonly ExtractedWindow[], now: Date): ExtractedWindow[] {
  let kept: ExtractedWindow[] = [];
  let rows = 0;
  const oldest = now.getTime() - RECENT_WINDOWS_SECONDS * 1000;
  for (const [age, window] of [...windows].reverse().entries()) {
    rows += window.rows;
    const recent = window.extracted_at === undefined ? age < RECENT_WINDOWS_KEPT : Date.parse(window.extracted_at) >= oldest;
    if (!recent || rows > RECENT_WINDOWS_MAX_ROWS) break;
    kept.unshift(window);
  }
  while (kept.length > RECENT_WINDOWS_KEPT) {
    const at = kept.findIndex((window, i) => i + 1 < kept.length && mergeable(window, kept[i + 1] as ExtractedWindow));
    if (at < 0) {
      kept = kept.slice(1);
      continue;
    }
    const older = kept[at] as ExtractedWindow;
    const newer = kept[at + 1] as ExtractedWindow;
    kept = [...kept.slice(0, at), { ...newer, start: older.start, rows: older.rows + newer.rows }, ...kept.slice(at + 2)];
  }
  return kept;
}

/** What every committed chunk adds: its rows to the counts, its file to the pending ones, its zero dates; the lease renewed. */
export function countedChunk(
  watermark: Watermark,
  commit: Pick<ChunkCommit, "runId" | "rows" | "file" | "zeroDates" | "now" | "leaseSeconds">,
): Pick<Watermark, "mysql_state" | "s3_state" | "updated_at"> {
  assertHolds(watermark, commit.runId);
  const state = watermark.mysql_state;
  const files = watermark.s3_state.backup_s3_files;
  const zeroDates = { ...state.zero_dates };
  for (const [column, count] of Object.entries(commit.zeroDates)) zeroDates[column] = (zeroDates[column] ?? 0) + count;
  return {
    mysql_state: {
      ...state,
      total_rows: state.total_rows + commit.rows,
      last_session_rows: state.last_session_rows + commit.rows,
      next_chunk: state.next_chunk + (commit.file === undefined ? 0 : 1),
      lease_expires_at: new Date(commit.now.getTime() + commit.leaseSeconds * 1000).toISOString(),
      zero_dates: zeroDates,
    },
    s3_state: { ...watermark.s3_state, backup_s3_files: commit.file === undefined || files.includes(commit.file) ? files : [...files, commit.file] },
    updated_at: commit.now.toISOString(),
  };
}

/** Commits one chunk: the cursor moves past its rows and its file is listed as pending load. */
export function commitChunk(watermark: Watermark, commit: ChunkCommit): Watermark {
  const counted = countedChunk(watermark, commit);
  const state = watermark.mysql_state;
  const windowRows = state.window_rows + commit.rows;
  const window: ExtractedWindow[] =
    commit.done && commit.windowEnd !== undefined
      ? [
          {
            start: state.window_start,
            end: toStored(commit.windowEnd),
            rows: windowRows,
            run_id: commit.runId,
            schema_key: commit.schemaKey ?? "",
            extracted_at: commit.now.toISOString(),
          },
        ]
      : [];
  // A window MySQL holds more rows of than were read is read again by this run (the files read so far load first):
  // whole, or only its parts found short (the others are validated as windows of their own).
  const parts = window.flatMap((w) =>
    (commit.short?.parts ?? []).map((part) => ({
      window: { ...w, start: part.start === null ? null : toStored(part.start), end: toStored(part.end), rows: part.rows },
      short: part.mysqlRows > part.rows,
      mysqlRows: part.mysqlRows,
    })),
  );
  const late =
    commit.short === undefined
      ? []
      : parts.length > 0
        ? parts
            .filter((part) => part.short)
            .flatMap((part) =>
              window.map((w) => ({
                ...lateWindowOf({ window: part.window, mysqlRows: part.mysqlRows, loadedRows: part.window.rows }, null),
                within: { start: w.start, end: w.end },
              })),
            )
        : window.map((w) => lateWindowOf({ window: w, mysqlRows: commit.short?.mysqlRows ?? 0, loadedRows: windowRows }, null));
  const validated = late.length === 0 ? window : parts.filter((part) => !part.short).map((part) => part.window);
  return {
    ...withCursor(watermark, commit.cursor),
    ...counted,
    mysql_state: {
      ...counted.mysql_state,
      status: commit.done ? "success" : "in_progress",
      // A window that ended is closed: a run resuming after a failed load starts the next one where it ended.
      window_start: window.length > 0 && commit.windowEnd !== undefined ? toStored(commit.windowEnd) : state.window_start,
      window_rows: window.length > 0 ? 0 : windowRows,
      recent_windows: window.length > 0 ? keptWindows([...state.recent_windows, ...window], commit.now) : state.recent_windows,
      late_windows: queued(state.late_windows, late),
      ranges: commit.done ? [] : state.ranges,
    },
    s3_state: { ...counted.s3_state, pending_validation: [...watermark.s3_state.pending_validation, ...validated] },
  };
}

export type RereadCommit = {
  runId: string;
  /** The window read again (nextReread). */
  window: LateWindow;
  cursor: Position;
  rows: number;
  file: string | undefined;
  zeroDates: Record<string, number>;
  /** The window's last chunk: MySQL's count of the window then. */
  ended?: { mysqlRows: number };
  schemaKey: string;
  now: Date;
  leaseSeconds: number;
};

/** A recent window the re-read key range `late` lies in, with what the range gained when read again (`rows`). */
const withinOf = (window: ExtractedWindow, late: LateWindow, rows: number): ExtractedWindow =>
  late.within !== undefined && spanOf(window) === spanOf(late.within) ? { ...window, rows: window.rows + Math.max(0, rows - late.rows) } : window;

/**
 * Commits one chunk of a window read again. At its end the window leaves the queue: to be validated by the load of
 * its files, or — MySQL held more rows of it than were read again (a writer still committing into it) — queued for
 * the next run.
 */
export function commitRereadChunk(watermark: Watermark, commit: RereadCommit): Watermark {
  const state = watermark.mysql_state;
  const rows = state.reread_rows + commit.rows;
  const span = spanOf(commit.window);
  const counted = { ...watermark, ...countedChunk(watermark, commit) };
  if (commit.ended === undefined) {
    return { ...counted, mysql_state: { ...counted.mysql_state, reread_cursor: toStored(commit.cursor), reread_rows: rows } };
  }
  const history = commit.window.reread;
  const attempts = history.attempts + 1;
  const reread: ExtractedWindow = {
    start: commit.window.start,
    end: commit.window.end,
    rows,
    run_id: commit.runId,
    schema_key: commit.schemaKey,
    reread: { ...history, attempts },
  };
  const short = commit.ended.mysqlRows > rows;
  const rest = state.late_windows.filter((w) => spanOf(w) !== span);
  return {
    ...counted,
    mysql_state: {
      ...counted.mysql_state,
      late_windows: short
        ? [
            ...rest,
            {
              ...lateWindowOf({ window: reread, mysqlRows: commit.ended.mysqlRows, loadedRows: rows }, commit.runId),
              ...(commit.window.within === undefined ? {} : { within: commit.window.within }),
            },
          ]
        : rest,
      reread_cursor: null,
      reread_rows: 0,
      // id_only's recount compares a recent window with what was read of it: now this (a key range of a window read
      // in ranges: that window, by what the range gained).
      recent_windows: short ? state.recent_windows : state.recent_windows.map((w) => (spanOf(w) === span ? { ...w, rows } : withinOf(w, commit.window, rows))),
    },
    s3_state: {
      ...counted.s3_state,
      pending_validation: short
        ? counted.s3_state.pending_validation
        : [...counted.s3_state.pending_validation, { ...reread, reread: { ...history, attempts, mysql_rows: commit.ended.mysqlRows } }],
    },
  };
}

/**
 * After a load's validation: the windows it validated leave the list, and those MySQL holds more rows of than
 * Redshift (rows committed into them after they were read) join the queue of windows the next run reads again.
 */
export function settleValidated(watermark: Watermark, validated: readonly ExtractedWindow[], late: readonly LateWindow[], now: Date): Watermark {
  const cleared = clearValidated(watermark, validated, now);
  if (late.length === 0) return cleared;
  return { ...cleared, mysql_state: { ...cleared.mysql_state, late_windows: queued(cleared.mysql_state.late_windows, late) }, updated_at: now.toISOString() };
}

/**
 * Reconciliation's repair files (rows missing or different in Redshift, re-extracted by key) join the files pending
 * load; the next load merges them by key through the ledger, exactly once. Refused while a run holds the table.
 */
export function stageRepairFiles(watermark: Watermark, files: readonly string[], now: Date): Watermark {
  const other = holder(watermark, now);
  if (other !== undefined) {
    throw new LeaseHeldError(`${watermark.pipeline}/${watermark.table_name} is being synced by run ${other}; reconcile repairs it after that run ends`);
  }
  const pending = watermark.s3_state.backup_s3_files;
  return {
    ...watermark,
    s3_state: { ...watermark.s3_state, backup_s3_files: [...pending, ...files.filter((f) => !pending.includes(f))] },
    updated_at: now.toISOString(),
  };
}

/** A failed run: the error is recorded, the lease released; cursor and pending files stay for the resume. */
export function failRun(watermark: Watermark, runId: string, error: string, now: Date): Watermark {
  if (watermark.mysql_state.run_id !== runId) return watermark;
  return {
    ...watermark,
    mysql_state: { ...watermark.mysql_state, status: "failed", last_error: error, lease_expires_at: null },
    updated_at: now.toISOString(),
  };
}

/** The windows a load validated leave the list (compared by content: a retried write removes nothing twice). */
export function clearValidated(watermark: Watermark, windows: readonly ExtractedWindow[], now: Date): Watermark {
  const done = new Set(windows.map((w) => JSON.stringify(w)));
  const pending = watermark.s3_state.pending_validation.filter((w) => !done.has(JSON.stringify(w)));
  if (pending.length === watermark.s3_state.pending_validation.length) return watermark;
  return { ...watermark, s3_state: { ...watermark.s3_state, pending_validation: pending }, updated_at: now.toISOString() };
}

/**
 * Operator: frees the lease of a run that is gone (the caller checked that), so the next run can begin; it resumes
 * from the last committed chunk. Only that run's lease: a run that began since is left alone.
 */
export function releaseDeadLease(watermark: Watermark, runId: string, now: Date): Watermark {
  if (watermark.mysql_state.run_id !== runId || watermark.mysql_state.lease_expires_at === null) return watermark;
  const state = watermark.mysql_state;
  return {
    ...watermark,
    mysql_state: { ...state, lease_expires_at: null, last_error: state.last_error ?? `lease of run ${runId} released by an operator: the run was gone` },
    updated_at: now.toISOString(),
  };
}

/** Ends a run's hold on the table (after its load, or when it stops early). */
export function releaseLease(watermark: Watermark, runId: string, now: Date): Watermark {
  if (watermark.mysql_state.run_id !== runId) return watermark;
  return { ...watermark, mysql_state: { ...watermark.mysql_state, lease_expires_at: null }, updated_at: now.toISOString() };
}

/**
 * A run that reached its ceiling ends (Finish): the lease is released and the extraction marked successful — also
 * when Begin found nothing to read and no chunk ran, so the next run starts from a successful state (lookback).
 */
export function finishRun(watermark: Watermark, runId: string, now: Date, costUsd: number | null = null): Watermark {
  if (watermark.mysql_state.run_id !== runId) return watermark;
  const status = watermark.mysql_state.status === "in_progress" ? "success" : watermark.mysql_state.status;
  return {
    ...watermark,
    mysql_state: { ...watermark.mysql_state, status, lease_expires_at: null, last_run_cost_usd: costUsd ?? watermark.mysql_state.last_run_cost_usd },
    updated_at: now.toISOString(),
  };
}

/** Extends the run's hold on the table during its load (chunks renew it as they commit). */
export function renewLease(watermark: Watermark, runId: string, now: Date, leaseSeconds: number): Watermark {
  if (watermark.mysql_state.run_id !== runId || watermark.mysql_state.lease_expires_at === null) return watermark;
  return {
    ...watermark,
    mysql_state: { ...watermark.mysql_state, lease_expires_at: new Date(now.getTime() + leaseSeconds * 1000).toISOString() },
    updated_at: now.toISOString(),
  };
}

/**
 * Operator: forget the cursor and what runs left behind — ceiling, lease, the window under way, windows to validate or
 * read again — so the next run re-reads the whole table from a clean state. Pending files stay listed (loaded by the
 * next run; its re-read rows merge over them).
 */
export function resetCursor(watermark: Watermark, now: Date): Watermark {
  return {
    ...withCursor(watermark, { timestamp: null, key: null }),
    mysql_state: {
      ...watermark.mysql_state,
      status: "pending",
      run_id: null,
      ceiling: null,
      lease_expires_at: null,
      lease_holder: null,
      last_error: null,
      ...noWindows(),
    },
    s3_state: { ...watermark.s3_state, pending_validation: [] },
    redshift_state: { ...watermark.redshift_state, failed_loads: {} },
    updated_at: now.toISOString(),
  };
}

/** A fresh watermark that keeps the files an unreadable one still listed as pending. */
export const withPendingFiles = (watermark: Watermark, files: readonly string[]): Watermark => ({
  ...watermark,
  s3_state: { ...watermark.s3_state, backup_s3_files: [...files] },
});

/**
 * Operator: move the cursor (e.g. skip history, or re-read from a point). `key` is the tuple of the table's key; the
 * values were checked against the table's columns (services/watermarks.ts). Windows read before are not counted or
 * read again: the operator's cursor stands.
 */
export function setCursor(watermark: Watermark, cursor: { timestamp?: string | null; key?: string[] | null }, now: Date): Watermark {
  const current = cursorOf(watermark);
  const key = cursor.key === undefined ? current.key : cursor.key;
  const columns = watermark.mysql_state.cursor_columns;
  if (cursor.key !== undefined && cursor.key !== null && columns !== null && cursor.key.length !== columns.length) {
    throw new Error(
      `the key has ${columns.length} column(s) (${columns.join(", ")}): give a tuple of ${columns.length} value(s), got ${JSON.stringify(cursor.key)}`,
    );
  }
  return {
    ...withCursor(watermark, { timestamp: cursor.timestamp === undefined ? current.timestamp : cursor.timestamp, key }),
    mysql_state: {
      ...watermark.mysql_state,
      status: "pending",
      lease_expires_at: null,
      ...noWindows(),
    },
    updated_at: now.toISOString(),
  };
}

/** Files move from pending to processed after a load; processed keeps a bounded tail. */
export function markLoaded(watermark: Watermark, files: readonly string[], rows: number, loadId: string, now: Date): Watermark {
  const loaded = new Set(files);
  return {
    ...watermark,
    s3_state: {
      ...watermark.s3_state,
      backup_s3_files: watermark.s3_state.backup_s3_files.filter((f) => !loaded.has(f)),
      processed_s3_files: [...watermark.s3_state.processed_s3_files, ...files].slice(-PROCESSED_FILES_KEPT),
    },
    redshift_state: {
      ...watermark.redshift_state,
      failed_loads: Object.fromEntries(Object.entries(watermark.redshift_state.failed_loads).filter(([id]) => id !== loadId)),
      status: "success",
      rows_loaded: watermark.redshift_state.rows_loaded + rows,
      last_load_id: loadId,
      last_loaded_at: now.toISOString(),
    },
    updated_at: now.toISOString(),
  };
}

/**
 * A load's statement ended FAILED or ABORTED (nothing of it applied): its next submission is a new attempt. Recorded
 * by statement id, so recording the same failure twice (a retried step) changes nothing.
 */
export function recordFailedLoad(watermark: Watermark, loadId: string, statementId: string, now: Date): Watermark {
  const failed = watermark.redshift_state.failed_loads[loadId] ?? [];
  if (failed.includes(statementId)) return watermark;
  return {
    ...watermark,
    redshift_state: {
      ...watermark.redshift_state,
      status: "failed",
      failed_loads: { ...watermark.redshift_state.failed_loads, [loadId]: [...failed, statementId] },
    },
    updated_at: now.toISOString(),
  };
}

/**
 * The Data API ClientToken of a load's next submission: the load id for its first attempt, then one per failed
 * attempt — a retried submission (a lost reply) gets the statement already running, while a load re-run after a
 * FAILED statement really runs again instead of getting the failed statement back for 8 hours.
 */
export function loadClientToken(watermark: Watermark | undefined, loadId: string): string {
  const failures = watermark?.redshift_state.failed_loads[loadId]?.length ?? 0;
  return failures === 0 ? loadId : `${loadId}-attempt-${failures + 1}`;
}
