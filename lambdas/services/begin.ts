/**
 * Begin: discover the table's schema, capture the ceiling (rows committed after it wait for the next run), take
 * the table's lease and record the run in the watermark. A second concurrent Begin on the table fails fast.
 */
import { hostname } from "node:os";
import type { Connection } from "mysql2/promise";
import { discoverTable, queryRow, readOldestWriteTransaction, readSourceClock, resultColumns } from "#adapters/mysql.ts";
import { DEFAULT_SETTLE_SECONDS } from "#config/schema.ts";
import { settleBound, type SettleBound } from "#domain/cdc/settle.ts";
import { cursorProblems, lookbackSecondsOf, orderColumns, UnsafeCursorError } from "#domain/cdc/cursor-rules.ts";
import { START, strategyFor, type Position } from "#domain/cdc/index.ts";
import { quotedTable, quoteIdentifier, textOf } from "#domain/cdc/types.ts";
import { buildTableSchema, TableSchemaError, type TableSchema } from "#domain/table-schema.ts";
import { beginRun, ceilingOf, cursorOf, fromStored, lateWindowOf, nextReread, type LateWindow, type Watermark } from "#domain/watermark.ts";
import { planRanges } from "#domain/range-state.ts";
import { rangeContext, readsKeyRanges } from "#domain/cdc/key-range.ts";
import { rangePlanKey } from "#domain/s3-layout.ts";
import { planKeyRanges } from "./key-ranges.ts";
import { emptyMeter, type Progress, type Resume, type Run } from "#shared/steps.ts";
import { LEASE_SECONDS, pendingFiles, readStoredWatermark, saveSchema, updateWatermark, withTableSource, type TableContext } from "./sync-context.ts";
import { covers } from "./recent-windows.ts";
import { windowsRowsNow } from "./validate.ts";

export type BeginResult = {
  runId: string;
  table: string;
  schemaKey: string;
  ceiling: Position;
  cursor: Position;
  /** Nothing between the cursor and the ceiling: the run has nothing to extract. */
  done: boolean;
  columns: number;
  /** Rows found committed late into the recent windows (id_only): the run reads those windows again. */
  lateRows: number;
  /** Timestamp strategies: the zone "now" was read in, and what the transaction horizon did. */
  settle?: SettleBound;
  /** The window is read as key ranges (docs/design.md §14). */
  ranges?: Progress["ranges"];
};

/**
 * The table's schema, built from the source and the config, after refusing what would lose rows (a cursor no unique
 * NOT NULL index covers, lookback on a keyless table, …): nothing is read before these checks pass.
 */
export async function checkedTableSchema(context: Pick<TableContext, "table">, connection: Connection): Promise<TableSchema> {
  const { table } = context;
  const discovered = await discoverTable(connection, table.sourceSchema, table.sourceTable);
  const schema = buildTableSchema(table, discovered.columns, discovered.primaryKey);
  const problems = cursorProblems(table, schema, discovered.columns, discovered.uniqueIndexes);
  if (problems.length > 0) throw new UnsafeCursorError(problems.join("\n"));
  if (table.cdc_strategy !== "custom_sql") return schema;
  // custom_sql: the query's columns, each a column of the table (its type comes from the table), in table order.
  const probe = strategyFor(table, schema).chunkQuery(START, START, 0);
  const returned = new Set((await resultColumns(connection, probe)).map((name) => name.toLowerCase()));
  const unknown = [...returned].filter((name) => !schema.columns.some((c) => c.source.toLowerCase() === name));
  if (unknown.length > 0) {
    throw new TableSchemaError(
      `${table.key}: custom_sql returns ${unknown.join(", ")}, not column(s) of the table; select columns of ${table.key} (computed columns are not supported)`,
    );
  }
  return { ...schema, columns: schema.columns.filter((c) => returned.has(c.source.toLowerCase())) };
}

/** A row whose cursor column is NULL is never inside a keyset window: refuse to sync around it silently. */
export class NullCursorError extends Error {
  override readonly name = "NullCursorError";
}

async function checkCursorColumns(context: TableContext, connection: Connection, schema: TableSchema): Promise<void> {
  const { table } = context;
  if (table.cdc_strategy === "full_sync") return;
  const nullable = schema.columns.filter((c) => c.nullable).map((c) => c.source.toLowerCase());
  const cursorColumns = [...new Set([table.cdc_timestamp_column, ...schema.cursorKey].filter((c): c is string => c !== undefined))];
  for (const column of cursorColumns.filter((c) => nullable.includes(c.toLowerCase()))) {
    const row = await queryRow(connection, { sql: `SELECT COUNT(*) FROM ${quotedTable(table)} WHERE ${quoteIdentifier(column)} IS NULL`, params: [] });
    const count = Number(textOf(row?.[0]) ?? "0");
    if (count > 0) {
      throw new NullCursorError(
        `${table.key}: ${count} row(s) have NULL in cursor column ${column}; ${table.cdc_strategy} would never sync them. ` +
          `Make ${column} NOT NULL (or backfill it), or use custom_sql with COALESCE(${column}, …) as the cursor, or full_sync`,
      );
    }
  }
}

/**
 * id_only has no timestamp to look back by: a row committed after a run with a key inside that run's window (an
 * auto-increment id a long transaction took before the ceiling and committed after the run; an explicit lower id)
 * would stay behind the cursor for good. So the recent windows (watermark recent_windows) are counted again, each an
 * index range scan, in one statement: each one MySQL now holds more rows of than were read from it is read again by
 * this run (re-read rows merge by key). Rows deleted from a window since hide as many late ones from the count, and
 * windows older than the recent ones are not counted: validation and reconciliation find those.
 */
async function lateRecentWindows(context: TableContext, schema: TableSchema, watermark: Watermark | undefined): Promise<LateWindow[]> {
  if (!strategyFor(context.table, schema).recountsRecentWindows) return [];
  const state = watermark?.mysql_state;
  // A window holding a range queued already is read there (Finish found it range by range).
  const windows = (state?.recent_windows ?? []).filter((w) => !(state?.late_windows ?? []).some((late) => covers(w, late)));
  if (windows.length === 0) return [];
  const counts = await windowsRowsNow(
    context,
    schema,
    windows.map((w) => ({ start: w.start === null ? null : fromStored(w.start), end: fromStored(w.end) })),
  );
  if (counts === undefined) return [];
  return windows.flatMap((window, i) => {
    const mysqlRows = counts[i] ?? 0;
    return mysqlRows > window.rows ? [lateWindowOf({ window, mysqlRows, loadedRows: window.rows }, null)] : [];
  });
}

/**
 * The newest timestamp this run's ceiling may take: the source's clock in the cursor column's zone less settle_seconds,
 * and below the oldest open write transaction where INNODB_TRX is readable (domain/cdc/settle.ts).
 */
async function settleBoundOf(context: TableContext, connection: Connection, schema: TableSchema): Promise<SettleBound> {
  const column = schema.columns.find((c) => c.source.toLowerCase() === context.table.cdc_timestamp_column?.toLowerCase());
  return settleBound({
    cursorType: column?.sourceType.toLowerCase().startsWith("timestamp") === true ? "timestamp" : "datetime",
    zone: context.pipeline.source.time_zone,
    clock: await readSourceClock(connection),
    settleSeconds: context.table.settle_seconds ?? DEFAULT_SETTLE_SECONDS,
    oldestWrite: await readOldestWriteTransaction(connection),
  });
}

/**
 * A window read from the start of a big id_only, full_sync, hybrid or timestamp_only table is cut into key ranges (inside the window
 * its ceiling ends) and read by a reader each; a resumed window keeps its ranges. The ranges left go to S3 as the item list
 * the Distributed Map reads (each run its own list: a resumed run lists only what it has left).
 */
async function rangesOfWindow(context: TableContext, runId: string, begun: Watermark, schema: TableSchema, schemaKey: string): Promise<Progress["ranges"]> {
  const { table } = context;
  let watermark = begun;
  if (!readsKeyRanges(table.cdc_strategy)) return undefined;
  if (watermark.mysql_state.ranges.length === 0) {
    const keyed = rangeContext(table, schema);
    const cursor = cursorOf(watermark);
    // From the start: no cursor at all (a hybrid cursor the lookback rewound is a timestamp without a key).
    const fromStart = cursor.key === null && cursor.timestamp === null && watermark.mysql_state.window_rows === 0;
    const ceiling = ceilingOf(watermark);
    // hybrid's and timestamp_only's windows end at a timestamp; the others' at a key.
    const byTimestamp = table.cdc_strategy === "hybrid" || table.cdc_strategy === "timestamp_only";
    const bounded = byTimestamp ? ceiling.timestamp !== null : ceiling.key !== null;
    if (!fromStart || keyed.key.length === 0 || !bounded) return undefined;
    const bounds = {
      key: table.key,
      schema: table.sourceSchema,
      table: table.sourceTable,
      from: keyed.from,
      keyColumns: keyed.key,
      // Key-ordered windows end at the ceiling's key: no range reaches past it. A timestamp's end: the whole key.
      upTo: byTimestamp ? null : ceiling.key,
    };
    const planned = await withTableSource(context, (connection) =>
      planKeyRanges(connection, bounds, table.processing.parallel_ranges, table.processing.max_parallel_ranges),
    );
    if (planned.length <= 1) return undefined;
    watermark = await updateWatermark(context, (current) => planRanges(current, runId, planned, context.now(), schemaKey));
  }
  const ranges = watermark.mysql_state.ranges;
  if (ranges.length === 0) return undefined;
  const left = ranges.filter((range) => !range.done);
  const key = rangePlanKey(
    context.pipeline.s3.isolation_prefix,
    context.pipeline.name,
    table.key,
    watermark.mysql_state.run_started_at ?? context.now().toISOString(),
  );
  await context.s3.putJson(
    context.bucket,
    key,
    left.map((range) => ({ index: range.index })),
  );
  return {
    left: left.length,
    total: ranges.length,
    plan: { bucket: context.bucket, key },
    concurrency: Math.min(table.processing.max_parallel_ranges, ranges.length),
  };
}

/** `ranges`: whether this run may read its window as key ranges (a sync without --limit). */
export async function begin(context: TableContext, runId: string, options: { ranges?: boolean } = {}): Promise<BeginResult> {
  // Read while MySQL is asked (S3 and MySQL at once), and written on by beginRun: a changed one fails the condition.
  const reading = readStoredWatermark(context);
  reading.catch(() => undefined);
  const { schema, ceiling, settle } = await withTableSource(context, async (connection) => {
    const schema = await checkedTableSchema(context, connection);
    await checkCursorColumns(context, connection, schema);
    const strategy = strategyFor(context.table, schema);
    const settle = strategy.settles === true ? await settleBoundOf(context, connection, schema) : undefined;
    return { schema, ceiling: strategy.ceilingOf(await queryRow(connection, strategy.ceilingQuery(settle?.settledBefore))), settle };
  });
  const known = await reading;
  const [late, schemaKey] = await Promise.all([lateRecentWindows(context, schema, known?.watermark), saveSchema(context, schema)]);
  const now = context.now();
  const watermark = await updateWatermark(
    context,
    (current) =>
      beginRun(current, {
        runId,
        strategy: context.table.cdc_strategy,
        ceiling,
        now,
        leaseSeconds: LEASE_SECONDS,
        lookbackSeconds: lookbackSecondsOf(context.table, strategyFor(context.table, schema), schema),
        restart: context.table.cdc_strategy === "full_sync",
        schemaKey,
        cursorColumns: orderColumns(context.table, schema).length === 0 ? [] : schema.cursorKey,
        holder: { host: hostname(), pid: process.pid },
        lateWindows: late,
      }),
    known,
  );
  const ranges = options.ranges === true ? await rangesOfWindow(context, runId, watermark, schema, schemaKey) : undefined;
  // A retried Begin of the same run keeps the ceiling it recorded first.
  const cursor = cursorOf(watermark);
  const recorded = ceilingOf(watermark);
  return {
    runId,
    table: context.table.key,
    schemaKey,
    ceiling: recorded,
    cursor,
    // Windows waiting to be read again keep the run going even when its own window is empty.
    done: strategyFor(context.table, schema).reached(cursor, recorded) && nextReread(watermark, runId) === undefined,
    columns: schema.columns.length,
    lateRows: late.reduce((sum, window) => sum + window.late_rows, 0),
    ...(settle === undefined ? {} : { settle }),
    ...(ranges === undefined ? {} : { ranges }),
  };
}

/** A table that has not read anything yet: no cursor, no ceiling. */
export const NOWHERE = { timestamp: null, key: null };

/** The run id of a table: the root execution's name, kept by child executions that continue it. */
export const runIdOf = (run: Run, resume: Resume | null) => resume?.progress.runId ?? run.executionId;

/**
 * The step: the table's progress at its start — its ceiling captured and its lease taken (sync), or nothing to
 * capture (redshift_only loads what is pending; reconcile takes no lease), or a table continued from a parent
 * execution as it was.
 */
export async function beginStep(context: TableContext, run: Run, resume: Resume | null): Promise<Progress> {
  if (resume !== null) return { ...resume.progress, chunksHere: 0 };
  const now = context.now().toISOString();
  const fresh = {
    ...{ rows: 0, files: 0, bytes: 0, chunks: 0, chunksHere: 0, extractMs: 0, rowsLoaded: 0, filesLoaded: 0, loadConflicts: 0, loads: 0, loadMs: 0 },
    meter: emptyMeter(),
  };
  const runId = runIdOf(run, resume);
  if (run.mode === "redshift_only") {
    return { ...fresh, runId, schemaKey: "", tableStartedAt: now, start: NOWHERE, ceiling: NOWHERE, done: true, pendingFiles: await pendingFiles(context) };
  }
  // Reconcile takes no lease and moves no cursor: its one "chunk" compares the table and stages the repairs.
  if (run.mode === "reconcile") return { ...fresh, runId, schemaKey: "", tableStartedAt: now, start: NOWHERE, ceiling: NOWHERE, done: false, pendingFiles: 0 };
  // Ranges for a sync's window (not for --limit, which reads its first rows in key order).
  const started = await begin(context, runId, { ranges: run.limit === null });
  return {
    ...fresh,
    runId,
    schemaKey: started.schemaKey,
    tableStartedAt: now,
    start: started.cursor,
    ceiling: started.ceiling,
    done: started.done,
    pendingFiles: 0,
    ...(started.lateRows > 0 ? { lateRows: started.lateRows } : {}),
    ...(started.settle === undefined ? {} : { horizon: started.settle.horizon }),
    ...(started.ranges === undefined ? {} : { ranges: started.ranges }),
  };
}
