/**
 * Pure: the CDC strategies' shared vocabulary. A strategy turns (cursor, ceiling, batch size) into the next chunk's
 * query — keyset pagination, parameters bound, identifiers quoted — and advances the cursor from a chunk's last row.
 */
import type { TableColumn, TableSchema } from "#domain/table-schema.ts";

/**
 * A position in the source: the cursor columns' values of the last row synced (or the ceiling's). Timestamps in
 * MySQL's own text form ("2025-11-27 15:30:00.123456"), ids as decimal strings (unsigned BIGINT exceeds 2^53).
 */
export type Position = { timestamp: string | null; id: string | null };

export const START: Position = { timestamp: null, id: null };

export type SqlQuery = { sql: string; params: unknown[] };

export type StrategyContext = {
  /** `schema`.`table`, quoted. */
  from: string;
  /** The SELECT list, in target column order. */
  select: string;
  schema: TableSchema;
  timestampColumn: string | undefined;
  idColumn: string | undefined;
  /** Index in the SELECT list of the cursor columns (undefined when the strategy has none). */
  timestampIndex: number | undefined;
  idIndex: number | undefined;
  customSql: string | undefined;
};

export interface Strategy {
  /** The ceiling: the newest position at Begin; no chunk reads past it. Returns one row [timestamp, id]. */
  ceilingQuery(): SqlQuery;
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

/** An id bound as an integer literal (mysql2 formats BigInt unquoted): a quoted id compares as DOUBLE past 2^53. */
export function idParam(id: string): bigint {
  if (!/^-?\d+$/.test(id)) throw new Error(`cursor id ${JSON.stringify(id)} is not an integer`);
  return BigInt(id);
}

export function textOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  throw new Error(`cursor value of unexpected type ${typeof value}`);
}

export function compareIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
