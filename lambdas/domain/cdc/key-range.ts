/**
 * Pure: how one key range of a window is read (docs/design.md §14), whatever the table's strategy orders its own
 * chunks by: the window's rows (its strategy's bound up to the ceiling, as validation counts it) that fall in the range,
 * in the order of the unique key, paged on the key alone. id_only and full_sync page on the key already; hybrid's
 * (timestamp, key) window is read range by range the same way, and its cursor is the ceiling once every range is read;
 * so is timestamp_only's window of whole timestamps, cut on MySQL's own primary key (its cursor has no key).
 */
import type { ResolvedTable } from "#config/resolve.ts";
import type { CdcStrategy } from "#config/schema.ts";
import type { TableSchema } from "#domain/table-schema.ts";
import { sourceWindow } from "#domain/validation.ts";
import { rangePredicate } from "#domain/ranges.ts";
import { strategyContext, type CdcTable } from "./index.ts";
import { compareKnown, keyColumnOf, orderBy, type KeyColumn } from "./keyset.ts";
import { keyOfRow, type Position, type SqlQuery, type Strategy, type StrategyContext } from "./types.ts";

/** What reading a chunk needs of a strategy (services/extract-chunk.ts readRange). */
export type ChunkReader = Pick<Strategy, "chunkQuery" | "positionOf" | "reached" | "cutsOnlyBetweenTimestamps" | "singleChunk">;

/** The strategies whose first read may be cut into key ranges: a unique key to page on, a window to bound by. */
export const READS_KEY_RANGES: readonly CdcStrategy[] = ["id_only", "full_sync", "hybrid", "timestamp_only"];
export const readsKeyRanges = (strategy: CdcStrategy): boolean => READS_KEY_RANGES.includes(strategy);

/**
 * The strategies whose window is bounded by the unique key itself: each of their key ranges is a window of theirs,
 * counted and read again alone when late rows are found in it. (hybrid's and timestamp_only's windows end at a
 * timestamp: a key range is not one of their windows, so late rows read the whole window again.)
 */
export const RANGES_ARE_WINDOWS: readonly CdcStrategy[] = ["id_only", "full_sync"];

/**
 * The strategy's context with the key a window's ranges are cut on: the keyset's own key — and for timestamp_only,
 * whose cursor has none, MySQL's own primary key (unique and NOT NULL by MySQL's word; a `primary_key` from the config
 * is not, so it cuts nothing), when each of its columns is synced and orders a keyset. No key: one reader.
 */
export function rangeContext(table: CdcTable & Pick<ResolvedTable, "primary_key">, schema: TableSchema): StrategyContext {
  const context = strategyContext(table, schema);
  if (table.cdc_strategy !== "timestamp_only") return context;
  const none = { ...context, key: [], keyIndexes: [] };
  if (table.primary_key !== undefined || schema.primaryKey.length === 0) return none;
  const key: { column: KeyColumn; index: number }[] = [];
  for (const name of schema.primaryKey) {
    const index = schema.columns.findIndex((c) => c.source.toLowerCase() === name.toLowerCase());
    const column = schema.columns[index];
    const keyed = column === undefined ? undefined : keyColumnOf(column);
    if (keyed === undefined || "problem" in keyed) return none;
    key.push({ column: keyed, index });
  }
  return { ...context, key: key.map((k) => k.column), keyIndexes: key.map((k) => k.index) };
}

/**
 * The reader of a window's key ranges: a chunk is the rows after the range's cursor (a key), up to the range's end (a
 * key; none for the last range), inside the window (START, ceiling] of `strategy`, in key order.
 */
export function keyRangeReader(context: StrategyContext, strategy: CdcStrategy, ceiling: Position): ChunkReader {
  const key = context.key;
  if (key.length === 0) throw new Error(`${context.from}: a key range needs a unique key`);
  const window = sourceWindow(strategy, { timestamp: context.timestamp, key }, { start: null, end: ceiling });
  // No ceiling, no window (nothing settled, an empty table): nothing to read in ranges.
  if (window === undefined) throw new Error(`${context.from}: the window has no ceiling to read key ranges up to`);
  return {
    cutsOnlyBetweenTimestamps: false,
    chunkQuery(cursor: Position, end: Position, limit: number): SqlQuery {
      const range = rangePredicate(key, { after: cursor.key, upTo: end.key });
      const where = [...(range === undefined ? [] : [range]), window];
      return {
        sql: `SELECT ${context.select} FROM ${context.from} WHERE ${where.map((w) => w.sql).join(" AND ")} ORDER BY ${orderBy(key)} LIMIT ?`,
        params: [...where.flatMap((w) => w.params), limit],
      };
    },
    positionOf: (row) => ({ timestamp: null, key: keyOfRow(context, row) }),
    // Where JS knows the key's order (integers, dates); otherwise the range ends when a chunk comes back short.
    reached: (cursor, end) => cursor.key !== null && end.key !== null && (compareKnown(key, cursor.key, end.key) ?? -1) >= 0,
  };
}
