/**
 * ExtractChunk: reads the next keyset chunk after the committed cursor (never past the run's ceiling), streams it
 * into one Parquet file on S3, then commits the new cursor and the file in one conditional watermark write.
 * A crash before that write leaves the cursor where it was: the retry rewrites the same key with the same rows.
 */
import { strategyFor, type Position, type Strategy } from "#domain/cdc/index.ts";
import type { TimestampOnlyStrategy } from "#domain/cdc/timestamp-only.ts";
import type { TableSchema } from "#domain/table-schema.ts";
import { ceilingOf, commitChunk, cursorOf, failShortWindow, fromStored, LeaseLostError, type Watermark } from "#domain/watermark.ts";
import { streamQuery, type RowSink } from "#adapters/mysql.ts";
import { ValueRejectedError } from "#parquet/columns.ts";
import { tableChunkFile, type ChunkFile } from "./chunk-file.ts";
import type { Progress, Run } from "#shared/steps.ts";
import { NOWHERE } from "./begin.ts";
import type { LoadContext } from "./load.ts";
import { reconcileAndStage } from "./reconcile-repair.ts";
import { LEASE_SECONDS, loadSchema, pendingFiles, readWatermark, updateWatermark, withTableSource, type TableContext } from "./sync-context.ts";
import { ExtractionShortfallError, extractionShortfall } from "./validate.ts";

export type ChunkRequest = {
  runId: string;
  schemaKey: string;
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
};

/** A value that cannot land exactly: names the table, the column and the row's key. */
export class RowRejectedError extends Error {
  override readonly name = "RowRejectedError";
}

const MIB = 1024 * 1024;
/** Most rows between two budget checks (and so the most a chunk runs past its deadline). */
const BUDGET_CHECK_ROWS = 64;

type Budget = { rows: number; bytes: number; deadline: number };

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
  strategy: Strategy,
  schema: TableSchema,
  file: ChunkFile,
  cursor: Position,
  ceiling: Position,
  budget: Budget,
): Promise<{ cursor: Position; exhausted: boolean }> {
  // custom_sql rows come in the query's column order; the file wants the schema's.
  let reorder: number[] | undefined;
  let lastRow: unknown[] | undefined;
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
  const take = (row: unknown[]) => {
    try {
      file.push(row);
    } catch (error) {
      if (!(error instanceof ValueRejectedError)) throw error;
      throw new RowRejectedError(`${context.table.key}: ${error.message} at ${describeRow(schema, row)}; fix the source row, or exclude the column`, {
        cause: error,
      });
    }
    lastRow = row;
  };
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
  return { cursor: lastRow === undefined ? cursor : strategy.positionOf(lastRow), exhausted };
}

export async function extractChunk(context: TableContext, request: ChunkRequest): Promise<ChunkResult> {
  const started = Date.now();
  const watermark = await readWatermark(context);
  if (watermark?.mysql_state.run_id !== request.runId) {
    throw new LeaseLostError(
      `${context.table.key}: run ${request.runId} does not hold the table (watermark run: ${watermark?.mysql_state.run_id ?? "none"}); run Begin first`,
    );
  }
  const cursor = cursorOf(watermark);
  const result = (committed: Watermark, done: boolean, next: Position, rows = 0, file?: { key: string; bytes: number }): ChunkResult => ({
    done,
    cursor: next,
    rows,
    files: file === undefined ? 0 : 1,
    bytes: file?.bytes ?? 0,
    durationMs: Date.now() - started,
    file: file?.key,
    runRows: committed.mysql_state.last_session_rows,
  });
  if (watermark.mysql_state.status === "success") return result(watermark, true, cursor);

  const schema = await loadSchema(context, request.schemaKey);
  const strategy = strategyFor(context.table, schema);
  const ceiling = ceilingOf(watermark);
  const limitLeft = request.limit === undefined ? Infinity : request.limit - watermark.mysql_state.last_session_rows;
  /** The window counted in MySQL against the rows extracted (when its last chunk was read). */
  const countWindow = (rows: number, windowEnd: Position): Promise<string | undefined> => {
    const start = watermark.mysql_state.window_start;
    return extractionShortfall(context, schema, { start: start === null ? null : fromStored(start), end: windowEnd }, watermark.mysql_state.window_rows + rows);
  };
  /**
   * The last commit of a window waits for the window's count: a shortfall fails the table before anything of the
   * window is loaded (the cursor goes back to the window's start where re-read rows merge by key).
   */
  const commit = async (
    done: boolean,
    next: Position,
    rows: number,
    file: string | undefined,
    zeroDates: Record<string, number>,
    windowEnd: Position,
    counted: Promise<string | undefined> | undefined,
  ) => {
    const shortfall = await counted;
    if (shortfall !== undefined) {
      await updateWatermark(context, (current: Watermark) =>
        failShortWindow(current, request.runId, `ExtractionShortfallError: ${shortfall}`, schema.primaryKey.length > 0, context.now()),
      );
      throw new ExtractionShortfallError(shortfall);
    }
    return updateWatermark(context, (current: Watermark) =>
      commitChunk(current, {
        runId: request.runId,
        cursor: next,
        rows,
        file,
        zeroDates,
        done,
        windowEnd: done ? windowEnd : undefined,
        schemaKey: request.schemaKey,
        now: context.now(),
        leaseSeconds: LEASE_SECONDS,
      }),
    );
  };
  if (strategy.reached(cursor, ceiling) || limitLeft <= 0) {
    // --limit ends the window at the cursor; otherwise it reaches the ceiling.
    const windowEnd = limitLeft <= 0 ? cursor : ceiling;
    return result(await commit(true, cursor, 0, undefined, {}, windowEnd, countWindow(0, windowEnd)), true, cursor);
  }

  const { processing } = context.table;
  const budget: Budget = {
    rows: Math.min(processing.batch_size, limitLeft),
    bytes: processing.target_file_mb * MIB,
    deadline: Math.min(request.deadline ?? Infinity, started + processing.max_chunk_seconds * 1000),
  };
  const file = tableChunkFile(
    context,
    watermark.mysql_state.run_started_at ?? context.now().toISOString(),
    watermark.mysql_state.next_chunk,
    schema.columns,
    request.schemaKey,
  );

  let read: { cursor: Position; exhausted: boolean };
  let uploaded: Awaited<ReturnType<ChunkFile["finish"]>>;
  let counted: Promise<string | undefined> | undefined;
  let done: boolean;
  let windowEnd: Position;
  try {
    read = await readChunk(context, strategy, schema, file, cursor, ceiling, budget);
    const complete = read.exhausted || strategy.reached(read.cursor, ceiling);
    done = complete || file.rows >= limitLeft;
    windowEnd = complete ? ceiling : read.cursor;
    // The window is counted after its last read, while the file's last part uploads.
    counted = done ? countWindow(file.rows, windowEnd) : undefined;
    counted?.catch(() => undefined);
    uploaded = await file.finish();
  } catch (error) {
    await file.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  const rows = file.rows;
  const committed = await commit(done, read.cursor, rows, uploaded?.key, file.zeroDates(), windowEnd, counted);
  return result(committed, done, read.cursor, rows, uploaded === undefined ? undefined : { key: uploaded.key, bytes: uploaded.bytes });
}

/** The step: the next chunk, added to the table's progress (mode reconcile: the comparison and its repair file). */
export async function extractChunkStep(
  context: LoadContext,
  run: Run,
  progress: Progress,
  deadline: number,
): Promise<{ progress: Progress; chunk: ChunkResult }> {
  if (run.mode === "reconcile") return reconcileNext(context, progress);
  const chunk = await extractChunk(context, { runId: progress.runId, schemaKey: progress.schemaKey, limit: run.limit ?? undefined, deadline });
  return {
    chunk,
    progress: {
      ...progress,
      done: chunk.done,
      // The watermark's count, not a sum: a chunk whose reply was lost (and re-run) is counted once.
      rows: chunk.runRows,
      files: progress.files + chunk.files,
      bytes: progress.bytes + chunk.bytes,
      chunks: progress.chunks + 1,
      chunksHere: progress.chunksHere + 1,
      extractMs: progress.extractMs + chunk.durationMs,
    },
  };
}

/** Mode reconcile: the table compared whole, its differences deleted or staged; the loads that follow merge them. */
async function reconcileNext(context: LoadContext, progress: Progress): Promise<{ progress: Progress; chunk: ChunkResult }> {
  const started = Date.now();
  const { counts, staged } = await reconcileAndStage(context);
  const durationMs = Date.now() - started;
  const chunk: ChunkResult = {
    done: true,
    cursor: NOWHERE,
    rows: counts.reloaded,
    files: staged.file === undefined ? 0 : 1,
    bytes: 0,
    durationMs,
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
      chunks: progress.chunks + 1,
      chunksHere: progress.chunksHere + 1,
      extractMs: progress.extractMs + durationMs,
      pendingFiles: await pendingFiles(context),
      reconcile: counts,
    },
  };
}
