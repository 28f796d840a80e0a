/**
 * Pure: the CDC strategies' shared vocabulary. A strategy turns (cursor, ceiling, batch size) into the next chunk's
 * query — keyset pagination, parameters bound, identifiers quoted — and advances the cursor from a chunk's last row.
 */
import type { TableColumn, TableSchema } from "#domain/table-schema.ts";
import { compareKnown, keyText, type KeyColumn, type SqlFragment } from "./keyset.ts";
import { compareTimestamps } from "./timestamps.ts";

/**
 * A position in the source: the cursor columns' values of the last row synced (or the ceiling's). Timestamps in
 * MySQL's own text form ("2025-11-27 15:30:00.123456"); the key as a tuple of the unique key's values in the
 * cursor's text form (keyset.ts: integers as decimal strings — unsigned BIGINT exceeds 2^53 —, binary as 0x-hex).
 * A timestamp without a key (after a lookback rewind) means "from that timestamp on", inclusive.
 */
export type Position = { timestamp: string | null; key: string[] | null };

export const START: Position = { timestamp: null, key: null };

export type SqlQuery = { sql: string; params: unknown[] };

/** Rows after `start` (null: from the beginning) up to `end`, as the run's chunk queries bound them. */
export type CountWindow = { start: Position | null; end: Position; /** the start row itself is in the window */ inclusiveStart?: boolean };

/** The cursor's columns on both sides (source and target names, and how they compare). */
export type WindowKeys = { timestamp: KeyColumn | undefined; key: KeyColumn[] };

export type Bound = { bound: "after" | "from" | "upTo"; values: string[] };

/** A window's tuple bounds in the strategy's order (validation.ts renders them for MySQL and Redshift). */
export type WindowBounds = { order: KeyColumn[]; lower: Bound | undefined; upper: Bound };

/**
 * A strategy's windows, exactly as its chunk queries draw them (undefined: nothing to bound by — custom_sql, no key);
 * `compared`: whether a load's window can be compared with Redshift (full_sync replaces or appends the whole table).
 */
export type WindowRule = { bounds(keys: WindowKeys, window: CountWindow): WindowBounds | undefined; compared: boolean };

/** Rows a sync in flight will carry: `expression` renders a row's cursor value as text, `after` tests it. */
export type InFlight = { expression: string; after(value: string): boolean };

/** The timestamp strategies: rows stamped after the cursor's timestamp. */
export function timestampInFlight(context: StrategyContext, cursor: Position): InFlight | undefined {
  const mark = cursor.timestamp;
  if (context.timestamp === undefined || mark === null) return undefined;
  return {
    expression: `DATE_FORMAT(${quoteIdentifier(context.timestamp.source)}, '%Y-%m-%d %H:%i:%s.%f')`,
    after: (value) => compareTimestamps(value, mark) > 0,
  };
}

/** The lower bound's kind of a window's start: inclusive for a cleanup's first row, else after it. */
export const afterStart = (window: CountWindow): Bound["bound"] => (window.inclusiveStart === true ? "from" : "after");

export type StrategyContext = {
  /** `schema`.`table`, quoted. */
  from: string;
  /** The SELECT list, in target column order. */
  select: string;
  schema: TableSchema;
  /** The timestamp cursor (timestamp_only, hybrid), as a key column; undefined when the strategy has none. */
  timestamp: KeyColumn | undefined;
  /** The unique key the keyset pages on (hybrid's tie-break, id_only's cursor, full_sync's paging); may be empty. */
  key: KeyColumn[];
  /** Index in the SELECT list of the cursor columns. */
  timestampIndex: number | undefined;
  keyIndexes: number[];
  customSql: string | undefined;
  /** Timestamp strategies: the ceiling is not newer than the source's NOW() minus this (late commits). */
  settleSeconds: number;
};

export interface Strategy {
  /**
   * The ceiling: the newest position at Begin; no chunk reads past it. Returns at most one row, read by ceilingOf.
   * `settledBefore`: the newest timestamp a timestamp strategy may take (settle.ts), required by those.
   */
  ceilingQuery(settledBefore?: string): SqlQuery;
  /** The ceiling's timestamp is held back from "now" (settle window, transaction horizon): hybrid, timestamp_only. */
  readonly settles?: boolean;
  /**
   * Reconcile: which MySQL rows the next sync carries anyway — a cursor value past `cursor` (an expression rendering
   * it as text, and the test on that text); undefined where that cannot be told exactly.
   */
  inFlight(cursor: Position): InFlight | undefined;
  /** The parts of the watermark's cursor this strategy reads (what `mrsync watermark set` may move). */
  readonly cursorFields: { timestamp: boolean; key: boolean };
  /** The ceiling from the ceiling query's row (undefined: the query found no row). */
  ceilingOf(row: readonly unknown[] | undefined): Position;
  /** The next chunk, strictly after `cursor`, at most up to `ceiling`. */
  chunkQuery(cursor: Position, ceiling: Position, limit: number): SqlQuery;
  /** The cursor after a row (its cursor columns). */
  positionOf(row: readonly unknown[]): Position;
  /** True when nothing lies between the cursor and the ceiling (so no query is needed). */
  reached(cursor: Position, ceiling: Position): boolean;
  /**
   * timestamp_only must never split one timestamp across chunks: rows sharing the last timestamp of a full chunk
   * are held back and re-read whole. Other strategies cut anywhere (their cursor is unique).
   */
  readonly cutsOnlyBetweenTimestamps: boolean;
  /** A strategy without a resumable cursor reads everything in one chunk, whatever the budgets. */
  readonly singleChunk?: boolean;
  /**
   * Begin counts the recent windows again for rows committed into them after they were read (id_only: no timestamp
   * to look back by); the timestamp strategies look back instead.
   */
  readonly recountsRecentWindows?: boolean;
  /**
   * A window MySQL holds more rows of than were read or loaded (rows committed into it late) is read again by its key
   * range (the incremental strategies); full_sync reads the whole table again every run anyway, and custom_sql has no
   * window to count.
   */
  readonly rereadsLateWindows?: boolean;
}

export const quoteIdentifier = (name: string): string => `\`${name.replace(/`/g, "``")}\``;

/** `schema`.`table`, quoted. */
export const quotedTable = (table: { sourceSchema: string; sourceTable: string }): string =>
  `${quoteIdentifier(table.sourceSchema)}.${quoteIdentifier(table.sourceTable)}`;

/** How a column is read: exact forms mysql2 returns without a JS Date or a float for exact types. */
export function selectExpression(column: TableColumn): string {
  const name = quoteIdentifier(column.source);
  // FLOAT's text form has 6 significant digits; as DOUBLE it is the stored float exactly.
  if (column.value.kind === "float") return `CAST(${name} AS DOUBLE)`;
  // mysql2 would parse geometry into objects; WKB is what lands in VARBYTE.
  if (column.value.kind === "binary" && column.value.wkb === true) return `ST_AsBinary(${name})`;
  return name;
}

/**
 * The key tuple of a row: from the SELECT list's key columns (`from` undefined), or from consecutive values starting
 * at `from` (a ceiling query's row).
 */
export function keyOfRow(context: StrategyContext, row: readonly unknown[], from?: number): string[] {
  return context.key.map((column, n) => {
    const value = keyText(column, row[from === undefined ? (context.keyIndexes[n] ?? -1) : from + n]);
    if (value === null) throw new Error(`key column ${column.source} is NULL: a keyset cursor needs NOT NULL key columns`);
    return value;
  });
}

export function timestampOfRow(context: StrategyContext, row: readonly unknown[], at?: number): string | null {
  return context.timestamp === undefined ? null : keyText(context.timestamp, row[at ?? context.timestampIndex ?? -1]);
}

/** Key order where JS knows it for sure (integers, dates, equal values); undefined = only MySQL knows (collations). */
export const compareKeys = (context: StrategyContext, a: readonly string[], b: readonly string[]): number | undefined => compareKnown(context.key, a, b);

/**
 * The settle window (and transaction horizon): rows newer than `settledBefore` — the source's now, in the cursor
 * column's zone, minus settle_seconds (settle.ts) — wait for the next run.
 */
export function settledBound(context: StrategyContext, settledBefore: string | undefined): SqlFragment {
  if (settledBefore === undefined) throw new Error("a timestamp strategy's ceiling needs the settle bound (domain/cdc/settle.ts)");
  const ts = context.timestamp === undefined ? "NULL" : quoteIdentifier(context.timestamp.source);
  return { sql: `${ts} <= ?`, params: [settledBefore] };
}

export function textOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  throw new Error(`cursor value of unexpected type ${typeof value}`);
}
