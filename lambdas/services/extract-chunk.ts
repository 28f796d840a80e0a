/**
 * ExtractChunk: reads the next keyset chunk after the committed cursor (never past the run's ceiling), streams it
 * into one Parquet file on S3, then commits the new cursor and the file in one conditional watermark write.
 * A crash before that write leaves the cursor where it was: the retry rewrites the same key with the same rows.
 */
import { createHash } from "node:crypto";
import { START, strategyFor, type Position } from "#domain/cdc/index.ts";
import type { TimestampOnlyStrategy } from "#domain/cdc/timestamp-only.ts";
import type { TableSchema } from "#domain/table-schema.ts";
import {
  ceilingOf,
  commitChunk,
  commitRereadChunk,
  cursorOf,
  failRun,
  fromStored,
  LeaseLostError,
  MAX_UNCHANGED_REREADS,
  nextReread,
  type LateWindow,
  type ShortPart,
  type Watermark,
} from "#domain/watermark.ts";
import { RowInPlace, streamQuery, type RowSink } from "#adapters/mysql.ts";
import { ValueRejectedError } from "#parquet/columns.ts";
import { tableChunkFile, type ChunkFile } from "./chunk-file.ts";
import type { Meter, Progress, Run } from "#shared/steps.ts";
import { addMeters, STEP_TRANSITIONS } from "#domain/cost.ts";
import { spentHere } from "#shared/meter.ts";
import type { LoadContext } from "./load.ts";
import { commitRangeChunk, rangeOf, rangesLeft, rangesSpent, rangeWindows } from "#domain/range-state.ts";
import { rangeReadOf, type RangeRead } from "#domain/ranges.ts";
import { keyRangeReader, rangeContext, RANGES_ARE_WINDOWS, READS_KEY_RANGES, readsKeyRanges, type ChunkReader } from "#domain/cdc/key-range.ts";
import { reconcileStep } from "./reconcile-step.ts";
import type { StoredWatermark } from "#adapters/watermark-store.ts";
import { LEASE_SECONDS, loadSchema, readStoredWatermark, updateWatermark, withTableSource, type TableContext } from "./sync-context.ts";
import { ExtractionShortfallError, keylessShortfall, stuckWindowProblem, windowRowsNow, windowsRowsNow } from "./validate.ts";

export type ChunkRequest = {
  runId: string;
  schemaKey: string;
  /** A range of the window's key ranges (domain/ranges.ts): this chunk reads that range only. */
  range?: number;
  /** Stop the run after this many rows (CLI --limit). */
  limit?: number;
  /** Epoch ms by which the call must return (the Lambda's deadline less a margin). */
  deadline?: number;
};

export type ChunkResult = {
  done: boolean;
  cursor: Position;
  rows: number;
  files: number;
  bytes: number;
  durationMs: number;
  file: string | undefined;
  /** Rows the run has committed so far, this chunk included (the watermark's count: right even after a lost reply). */
  runRows: number;
  /** Rows found committed into a window after it was read (it is read again). */
  lateRows: number;
  /** 1 when this chunk ended a window read again. */
  windowsReread: number;
  /** A window read as key ranges: ranges not read yet (the chunk read nothing; ReadRanges reads them). */
  rangesLeft?: number;
  /** The chunk that closed a window read as key ranges: what each range read. */
  rangesRead?: RangeRead[];
  /** The same chunk: what the range readers spent (their child executions' meters do not come back). */
  rangesSpent?: Meter;
};

/** A value that cannot land exactly: names the table, the column and the row's key. */
export class RowRejectedError extends Error {
  override readonly name = "RowRejectedError";
}

const MIB = 1024 * 1024;
/** Most rows between two budget checks (and so the most a chunk runs past its deadline). */
const BUDGET_CHECK_ROWS = 64;

export type Budget = { rows: number; bytes: number; deadline: number };

/** The row's primary key (or cursor) values, for error messages. */
function describeRow(schema: TableSchema, row: readonly unknown[]): string {
  const keys = schema.primaryKey.length > 0 ? schema.primaryKey : [schema.columns[0]?.source ?? ""];
  return keys
    .map((key) => {
      const index = schema.columns.findIndex((c) => c.source === key);
      return `${key}=${index < 0 ? "?" : String(row[index])}`;
    })
    .join(", ");
}

/**
 * Reads one chunk into the file. Returns the cursor after the last row taken, and whether the query ended on its
 * own (fewer rows than asked: nothing else lies before the ceiling).
 */
async function readChunk(
  context: TableContext,
  strategy: ChunkReader,
  schema: TableSchema,
  file: ChunkFile,
  cursor: Position,
  ceiling: Position,
  budget: Budget,
): Promise<{ cursor: Position; exhausted: boolean }> {
  // custom_sql rows come in the query's column order; the file wants the schema's.
  let reorder: number[] | undefined;
  // The last row taken; one taken in place is kept where it lies and read again at the end, for its position.
  let lastRow: unknown[] | RowInPlace | undefined;
  const lastInPlace = new RowInPlace();
  // timestamp_only: the rows of the newest timestamp, held until the next timestamp shows they are complete.
  const held: { rows: unknown[][]; timestamp: string | null } = { rows: [], timestamp: null };
  // Summing the column buffers for every row would cost more than the rows: the next check comes after half the
  // rows that would fill the remaining budget at the average row size so far (at most BUDGET_CHECK_ROWS).
  let rowsToCheck = 1;
  const overBudget = () => {
    if (--rowsToCheck > 0) return false;
    const bytes = file.bytes;
    if (bytes >= budget.bytes || Date.now() >= budget.deadline) return true;
    const rowBytes = bytes / Math.max(file.rows, 1);
    rowsToCheck = Math.max(1, Math.min(BUDGET_CHECK_ROWS, Math.floor((budget.bytes - bytes) / rowBytes / 2)));
    return false;
  };
  const rejected = (error: unknown, row: () => readonly unknown[]) => {
    if (!(error instanceof ValueRejectedError)) return error;
    return new RowRejectedError(`${context.table.key}: ${error.message} at ${describeRow(schema, row())}; fix the source row, or exclude the column`, {
      cause: error,
    });
  };
  const take = (row: unknown[]) => {
    try {
      file.push(row);
    } catch (error) {
      throw rejected(error, () => row);
    }
    lastRow = row;
  };
  // Rows in the table's column order, each cut on its own: read in place, without a value object (the hot path).
  const inPlace = context.table.cdc_strategy !== "custom_sql" && !strategy.cutsOnlyBetweenTimestamps;
  const sink: RowSink = {
    fields(names) {
      if (context.table.cdc_strategy !== "custom_sql") return;
      const lower = names.map((n) => n.toLowerCase());
      reorder = schema.columns.map((c) => lower.indexOf(c.source.toLowerCase()));
    },
    row(raw) {
      const row = reorder === undefined ? raw : reorder.map((i) => raw[i]);
      if (!strategy.cutsOnlyBetweenTimestamps) {
        if (!strategy.singleChunk && file.rows > 0 && overBudget()) return false;
        take(row);
        return true;
      }
      // timestamp_only: a timestamp's rows are written only once the next timestamp shows they are complete.
      const timestamp = strategy.positionOf(row).timestamp;
      if (timestamp !== held.timestamp) {
        for (const complete of held.rows) take(complete);
        held.rows = [];
        if (file.rows > 0 && overBudget()) return false;
        held.timestamp = timestamp;
      }
      held.rows.push(row);
      return true;
    },
    ...(inPlace
      ? {
          rowInPlace(row: RowInPlace) {
            if (!strategy.singleChunk && file.rows > 0 && overBudget()) return false;
            try {
              file.pushBytes(row);
            } catch (error) {
              throw rejected(error, () => row.values());
            }
            row.keepIn(lastInPlace);
            lastRow = lastInPlace;
            return true;
          },
        }
      : {}),
    backpressure: () => file.backpressure(),
  };
  const limit = budget.rows;
  const result = await withTableSource(context, (connection) => streamQuery(connection, strategy.chunkQuery(cursor, ceiling, limit), sink));
  const exhausted = !result.stopped && (strategy.singleChunk === true || result.rows < limit);
  if (strategy.cutsOnlyBetweenTimestamps && held.rows.length > 0) {
    if (exhausted) {
      for (const complete of held.rows) take(complete);
    } else if (file.rows === 0 && held.timestamp !== null) {
      // One timestamp fills the whole chunk: read that timestamp whole, however many rows it has.
      const group = (strategy as TimestampOnlyStrategy).groupQuery(held.timestamp);
      await withTableSource(context, (connection) =>
        streamQuery(connection, group, { row: (row) => (take(row), true), backpressure: () => file.backpressure() }),
      );
    }
    // Otherwise the last, possibly partial, timestamp is left for the next chunk.
  }
  const last = lastRow instanceof RowInPlace ? lastRow.values() : lastRow;
  return { cursor: last === undefined ? cursor : strategy.positionOf(last), exhausted };
}

/** What one chunk read: its cursor, whether its range is done, its file, and — at the range's end — MySQL's count of it. */
export type ChunkRead = {
  cursor: Position;
  complete: boolean;
  rows: number;
  zeroDates: Record<string, number>;
  uploaded: Awaited<ReturnType<ChunkFile["finish"]>>;
  /** MySQL's count of the range when its last chunk was read (undefined: not the last, or not countable). */
  mysqlRows: number | undefined;
};

/**
 * One chunk of a range (cursor, end] into its file; at the range's end, MySQL counts the range (`countAt`) while the
 * file's last part uploads. A failure leaves no partial object. (Also what `npm run bench:ranges`' readers run.)
 */
export async function readRange(
  context: TableContext,
  read: { strategy: ChunkReader; schema: TableSchema; file: ChunkFile; cursor: Position; end: Position; budget: Budget; limitLeft: number },
  countAt: (rows: number, end: Position) => Promise<number | undefined>,
): Promise<ChunkRead & { windowEnd: Position }> {
  const { strategy, file } = read;
  try {
    const chunk = await readChunk(context, strategy, read.schema, file, read.cursor, read.end, read.budget);
    const complete = chunk.exhausted || strategy.reached(chunk.cursor, read.end);
    const last = complete || file.rows >= read.limitLeft;
    // --limit ends the window at the cursor; otherwise it reaches the range's end.
    const windowEnd = complete ? read.end : chunk.cursor;
    const counted = last ? countAt(file.rows, windowEnd) : undefined;
    counted?.catch(() => undefined);
    const uploaded = await file.finish();
    return { cursor: chunk.cursor, complete: last, rows: file.rows, zeroDates: file.zeroDates(), uploaded, mysqlRows: await counted, windowEnd };
  } catch (error) {
    await file.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

const budgetOf = (context: TableContext, started: number, limitLeft: number, deadline: number | undefined): Budget => ({
  rows: Math.min(context.table.processing.batch_size, limitLeft),
  bytes: context.table.processing.target_file_mb * MIB,
  deadline: Math.min(deadline ?? Infinity, started + context.table.processing.max_chunk_seconds * 1000),
});

const windowOf = (start: Watermark["mysql_state"]["window_start"], end: Position) => ({ start: start === null ? null : fromStored(start), end });

/** A short pass on the run's ids, so a re-read's files name which pass they belong to. */
const passOf = (runId: string, window: LateWindow) =>
  createHash("sha256")
    .update(`${runId}\n${JSON.stringify([window.start, window.end])}`)
    .digest("hex")
    .slice(0, 16);

export async function extractChunk(context: TableContext, request: ChunkRequest): Promise<ChunkResult> {
  const started = Date.now();
  // Kept with its ETag: the chunk's commit writes on it first (a concurrent write makes the commit read again).
  const known = await readStoredWatermark(context);
  const watermark = known?.watermark;
  if (watermark?.mysql_state.run_id !== request.runId) {
    throw new LeaseLostError(
      `${context.table.key}: run ${request.runId} does not hold the table (watermark run: ${watermark?.mysql_state.run_id ?? "none"}); run Begin first`,
    );
  }
  const read = { watermark, known, started };
  if (request.range !== undefined) return extractRangeChunk(context, { ...request, range: request.range }, read);
  if (watermark.mysql_state.status !== "success") return extractWindow(context, request, read);
  // The run's own window is read: then the windows found holding rows committed into them late.
  const late = nextReread(watermark, request.runId);
  if (late !== undefined) return rereadWindow(context, request, read, late);
  return resultOf(watermark, request.runId, cursorOf(watermark), started, {});
}

function resultOf(
  committed: Watermark,
  runId: string,
  next: Position,
  started: number,
  chunk: { rows?: number; file?: { key: string; bytes: number }; lateRows?: number; windowsReread?: number },
): ChunkResult {
  return {
    // Done when the run's window is read and no window waits to be read again by this run.
    done: committed.mysql_state.status === "success" && nextReread(committed, runId) === undefined,
    cursor: next,
    rows: chunk.rows ?? 0,
    files: chunk.file === undefined ? 0 : 1,
    bytes: chunk.file?.bytes ?? 0,
    durationMs: Date.now() - started,
    file: chunk.file?.key,
    runRows: committed.mysql_state.last_session_rows,
    lateRows: chunk.lateRows ?? 0,
    windowsReread: chunk.windowsReread ?? 0,
  };
}

/** The watermark a chunk began with, with its ETag (the commit's first attempt), and when the chunk began. */
type ChunkStart = { watermark: Watermark; known: StoredWatermark | undefined; started: number };

/** The next chunk of the run's own window (cursor → ceiling). */
async function extractWindow(context: TableContext, request: ChunkRequest, { watermark, known, started }: ChunkStart): Promise<ChunkResult> {
  const cursor = cursorOf(watermark);
  const schema = await loadSchema(context, request.schemaKey);
  const strategy = strategyFor(context.table, schema);
  const ceiling = ceilingOf(watermark);
  const state = watermark.mysql_state;
  const limitLeft = request.limit === undefined ? Infinity : request.limit - state.last_session_rows;
  const countAt = (_rows: number, end: Position) => windowRowsNow(context, schema, windowOf(state.window_start, end));

  let read: ChunkRead & { windowEnd: Position };
  if (state.ranges.length > 0) {
    // A window read as key ranges ends once every range is read (ReadRanges reads them; this chunk only closes it).
    const unread = rangesLeft(watermark);
    if (unread > 0) return { ...resultOf(watermark, request.runId, cursor, started, {}), rangesLeft: unread };
    read = { cursor: ceiling, complete: true, rows: 0, zeroDates: {}, uploaded: undefined, mysqlRows: await countAt(0, ceiling), windowEnd: ceiling };
  } else if (strategy.reached(cursor, ceiling) || limitLeft <= 0) {
    const windowEnd = limitLeft <= 0 ? cursor : ceiling;
    read = { cursor, complete: true, rows: 0, zeroDates: {}, uploaded: undefined, mysqlRows: await countAt(0, windowEnd), windowEnd };
  } else {
    const file = tableChunkFile(context, state.run_started_at ?? context.now().toISOString(), state.next_chunk, schema.columns, request.schemaKey);
    read = await readRange(
      context,
      { strategy, schema, file, cursor, end: ceiling, budget: budgetOf(context, started, limitLeft, request.deadline), limitLeft },
      countAt,
    );
  }
  const extracted = state.window_rows + read.rows;
  // Rows committed into the window while it was read: the run reads the window again (its files so far load first).
  // (full_sync reads the whole table again next run anyway.)
  const late =
    strategy.rereadsLateWindows === true && read.complete && read.mysqlRows !== undefined && read.mysqlRows > extracted ? read.mysqlRows - extracted : 0;
  if (late > 0 && schema.primaryKey.length === 0) {
    const message = keylessShortfall(context, read.mysqlRows ?? 0, extracted);
    await updateWatermark(context, (current) => failRun(current, request.runId, `ExtractionShortfallError: ${message}`, context.now()));
    throw new ExtractionShortfallError(message);
  }
  const parts = late > 0 ? await shortRanges(context, schema, watermark) : [];
  const committed = await updateWatermark(
    context,
    (current: Watermark) =>
      commitChunk(current, {
        runId: request.runId,
        cursor: read.cursor,
        rows: read.rows,
        file: read.uploaded?.key,
        zeroDates: read.zeroDates,
        done: read.complete,
        // A window nothing was read from or is missing from (the cursor at the ceiling already) is not listed.
        windowEnd: read.complete && (extracted > 0 || late > 0) ? read.windowEnd : undefined,
        ...(late > 0 ? { short: { mysqlRows: read.mysqlRows ?? 0, ...(parts.length > 0 ? { parts } : {}) } } : {}),
        schemaKey: request.schemaKey,
        now: context.now(),
        leaseSeconds: LEASE_SECONDS,
      }),
    known,
  );
  const result = resultOf(committed, request.runId, read.cursor, started, { rows: read.rows, file: read.uploaded, lateRows: late });
  if (state.ranges.length === 0) return result;
  // The chunk that closes a ranges window reports the ranges' files (the table's progress counts them once, here).
  return {
    ...result,
    files: state.ranges.reduce((n, r) => n + r.files, 0),
    bytes: state.ranges.reduce((n, r) => n + r.bytes, 0),
    rangesRead: state.ranges.map(rangeReadOf),
    rangesSpent: readersMeter(watermark),
  };
}

/**
 * A window read in key ranges and found short, of a strategy whose ranges are windows of its own (id_only): each
 * range counted (all of them, in one statement). Those MySQL holds more rows of than were read are read again, not the
 * whole window — a late row in a 1B-row first read re-reads a quarter of it, not all — and the others are validated as
 * windows of their own. None found short (the rows went away between the counts): [], and the whole window is read
 * again, as for any other.
 */
async function shortRanges(context: TableContext, schema: TableSchema, watermark: Watermark): Promise<ShortPart[]> {
  const state = watermark.mysql_state;
  if (state.ranges.length === 0 || !RANGES_ARE_WINDOWS.includes(context.table.cdc_strategy)) return [];
  const windows = rangeWindows(watermark, state.window_start === null ? null : fromStored(state.window_start), ceilingOf(watermark));
  const counts = await windowsRowsNow(context, schema, windows);
  if (counts === undefined) return [];
  const parts = windows.map((window, i) => ({ ...window, mysqlRows: counts[i] ?? 0 }));
  return parts.some((part) => part.mysqlRows > part.rows) ? parts : [];
}

/** The range readers' meters summed, with ReadRanges' own transitions. */
function readersMeter(watermark: Watermark): Meter {
  const spent = rangesSpent(watermark);
  return { ...spent, transitions: spent.transitions + STEP_TRANSITIONS.readRanges };
}

/** The next chunk of a window read again (its start → its end); its files are a pass of their own. */
async function rereadWindow(context: TableContext, request: ChunkRequest, { watermark, known, started }: ChunkStart, late: LateWindow): Promise<ChunkResult> {
  const state = watermark.mysql_state;
  const schema = await loadSchema(context, request.schemaKey);
  const strategy = strategyFor(context.table, schema);
  const window = windowOf(late.start, fromStored(late.end));
  const cursor = state.reread_cursor === null ? (window.start ?? START) : fromStored(state.reread_cursor);
  const countAt = () => windowRowsNow(context, schema, window);
  let read: ChunkRead;
  if (strategy.reached(cursor, window.end)) {
    read = { cursor, complete: true, rows: 0, zeroDates: {}, uploaded: undefined, mysqlRows: await countAt() };
  } else {
    const file = tableChunkFile(context, state.run_started_at ?? context.now().toISOString(), state.next_chunk, schema.columns, request.schemaKey, {
      pass: passOf(request.runId, late),
    });
    read = await readRange(
      context,
      { strategy, schema, file, cursor, end: window.end, budget: budgetOf(context, started, Infinity, request.deadline), limitLeft: Infinity },
      countAt,
    );
  }
  const committed = await updateWatermark(
    context,
    (current: Watermark) =>
      commitRereadChunk(current, {
        runId: request.runId,
        window: late,
        cursor: read.cursor,
        rows: read.rows,
        file: read.uploaded?.key,
        zeroDates: read.zeroDates,
        // A window that cannot be counted (no countable predicate) counts as read whole.
        ...(read.complete ? { ended: { mysqlRows: read.mysqlRows ?? state.reread_rows + read.rows } } : {}),
        schemaKey: request.schemaKey,
        now: context.now(),
        leaseSeconds: LEASE_SECONDS,
      }),
    known,
  );
  const rows = state.reread_rows + read.rows;
  const stillLate = read.complete && read.mysqlRows !== undefined && read.mysqlRows > rows ? read.mysqlRows - rows : 0;
  // Read again while MySQL's count stayed the same, and still fewer rows read than counted: not a late commit.
  const stuck = committed.mysql_state.late_windows.find((w) => w.after_run === request.runId && w.reread.unchanged >= MAX_UNCHANGED_REREADS);
  if (stillLate > 0 && stuck !== undefined) throw new ExtractionShortfallError(stuckWindowProblem(context, stuck));
  return resultOf(committed, request.runId, cursorOf(committed), started, {
    rows: read.rows,
    file: read.uploaded,
    lateRows: stillLate,
    windowsReread: read.complete ? 1 : 0,
  });
}

/**
 * The next chunk of one key range of the window (cursor_r, up_to_r] — the last range up to the ceiling — committed to
 * the range's own cursor. Ranges are read at once by their own readers; the window's count comes when all are read.
 */
async function extractRangeChunk(
  context: TableContext,
  request: ChunkRequest & { range: number },
  { watermark, known, started }: ChunkStart,
): Promise<ChunkResult> {
  const range = rangeOf(watermark, request.range);
  const done = (committed: Watermark, chunk: Parameters<typeof resultOf>[4] = {}) => ({
    ...resultOf(committed, request.runId, { timestamp: null, key: rangeOf(committed, request.range).cursor }, started, chunk),
    done: rangeOf(committed, request.range).done,
  });
  if (watermark.mysql_state.status !== "in_progress" || range.done) return done(watermark);
  if (!readsKeyRanges(context.table.cdc_strategy)) {
    throw new Error(`${context.table.key}: ${context.table.cdc_strategy} does not read key ranges (${READS_KEY_RANGES.join(", ")} do)`);
  }
  const schema = await loadSchema(context, request.schemaKey);
  // The range's rows inside the window, in key order: the last range has no end key (the window's bound ends it).
  const reader = keyRangeReader(rangeContext(context.table, schema), context.table.cdc_strategy, ceilingOf(watermark));
  const cursor: Position = { timestamp: null, key: range.cursor ?? range.after };
  const end: Position = { timestamp: null, key: range.up_to };
  const state = watermark.mysql_state;
  let read: ChunkRead;
  if (reader.reached(cursor, end)) read = { cursor, complete: true, rows: 0, zeroDates: {}, uploaded: undefined, mysqlRows: undefined };
  else {
    const file = tableChunkFile(context, state.run_started_at ?? context.now().toISOString(), range.next_chunk, schema.columns, request.schemaKey, {
      range: range.index,
    });
    const budget = budgetOf(context, started, Infinity, request.deadline);
    read = await readRange(context, { strategy: reader, schema, file, cursor, end, budget, limitLeft: Infinity }, () => Promise.resolve(undefined));
  }
  const committed = await updateWatermark(
    context,
    (current) =>
      commitRangeChunk(current, {
        runId: request.runId,
        range: request.range,
        cursor: read.cursor,
        rows: read.rows,
        file: read.uploaded?.key,
        bytes: read.uploaded?.bytes ?? 0,
        zeroDates: read.zeroDates,
        done: read.complete,
        readMs: Date.now() - started,
        now: context.now(),
        leaseSeconds: LEASE_SECONDS,
        // This invocation's meter so far, kept with its range (a reader's child execution returns none).
        spent: spentHere(STEP_TRANSITIONS.extractRange(read.complete)),
      }),
    known,
  );
  return done(committed, { rows: read.rows, file: read.uploaded });
}

/** The step: the next chunk, added to the table's progress (mode reconcile: the comparison and its repair file). */
export async function extractChunkStep(
  context: LoadContext,
  run: Run,
  progress: Progress,
  deadline: number,
  range?: number,
): Promise<{ progress: Progress; chunk: ChunkResult }> {
  if (run.mode === "reconcile") return reconcileStep(context, progress, deadline, range);
  const request = { runId: progress.runId, schemaKey: progress.schemaKey, limit: run.limit ?? undefined, deadline };
  const chunk = await extractChunk(context, range === undefined ? request : { ...request, range });
  return {
    chunk,
    progress: {
      ...progress,
      // A range's reader reports its range read; the table is done only when its window is (ExtractChunk closes it).
      ...(range === undefined ? { done: chunk.done } : { rangeDone: chunk.done }),
      ...(progress.ranges === undefined || range !== undefined ? {} : { ranges: { ...progress.ranges, left: chunk.rangesLeft ?? 0 } }),
      ...(chunk.rangesRead === undefined ? {} : { rangesRead: chunk.rangesRead }),
      ...(chunk.rangesSpent === undefined ? {} : { meter: addMeters(progress.meter, chunk.rangesSpent) }),
      // The watermark's count, not a sum: a chunk whose reply was lost (and re-run) is counted once.
      rows: chunk.runRows,
      files: progress.files + chunk.files,
      bytes: progress.bytes + chunk.bytes,
      chunks: progress.chunks + 1,
      chunksHere: progress.chunksHere + 1,
      extractMs: progress.extractMs + chunk.durationMs,
      ...counted(progress, chunk),
    },
  };
}

/** The late rows and re-read windows a chunk adds to the table's progress (fields present only when not zero). */
function counted(progress: Progress, chunk: Pick<ChunkResult, "lateRows" | "windowsReread">): Pick<Progress, "lateRows" | "windowsReread"> {
  const lateRows = (progress.lateRows ?? 0) + chunk.lateRows;
  const windowsReread = (progress.windowsReread ?? 0) + chunk.windowsReread;
  return { ...(lateRows > 0 ? { lateRows } : {}), ...(windowsReread > 0 ? { windowsReread } : {}) };
}
