/**
 * custom_sql: the user's query, its named placeholders (:last_timestamp, :last_id, :ceiling_timestamp, :ceiling_id,
 * :batch_size) bound as parameters in the order they appear — never spliced into the SQL. The query must order by
 * its cursor columns and honour :batch_size; the ceiling comes from the table like hybrid/timestamp_only/id_only.
 */
import { CUSTOM_SQL_PLACEHOLDERS } from "#config/schema.ts";
import { bindValue } from "./keyset.ts";
import { keyOfRow, quoteIdentifier, timestampOfRow, type Position, type SqlQuery, type Strategy, type StrategyContext, type WindowRule } from "./types.ts";

type Placeholder = (typeof CUSTOM_SQL_PLACEHOLDERS)[number];

/** Replaces :name placeholders by ? and lists them in order (a `::` cast or a quoted string is left alone). */
export function compilePlaceholders(sql: string): { sql: string; order: Placeholder[] } {
  const order: Placeholder[] = [];
  const compiled = sql.replace(/('(?:[^'\\]|\\.|'')*')|(?<![:\w]):([A-Za-z_]\w*)/g, (match, quoted: string | undefined, name: string | undefined) => {
    if (quoted !== undefined || name === undefined) return match;
    if (!(CUSTOM_SQL_PLACEHOLDERS as readonly string[]).includes(name)) throw new Error(`custom_sql: unknown placeholder :${name}`);
    order.push(name as Placeholder);
    return "?";
  });
  return { sql: compiled, order };
}

/** custom_sql: its query is its own; no window to count. */
export const noWindows: WindowRule = { compared: false, bounds: () => undefined };

export function customSqlStrategy(context: StrategyContext): Strategy {
  const compiled = compilePlaceholders(context.customSql ?? "");
  const ts = context.timestamp === undefined ? undefined : quoteIdentifier(context.timestamp.source);
  const idColumn = context.key[0];
  const id = idColumn === undefined ? undefined : quoteIdentifier(idColumn.source);
  const idValue = (key: string[] | null) => (idColumn === undefined || key?.[0] === undefined ? null : bindValue(idColumn, key[0]));
  return {
    cutsOnlyBetweenTimestamps: false,
    // Its query decides what it reads: what is in flight cannot be told.
    inFlight: () => undefined,
    cursorFields: { timestamp: ts !== undefined, key: id !== undefined },
    ceilingQuery: (): SqlQuery => ({
      sql: `SELECT ${ts === undefined ? "NULL" : `MAX(${ts})`}, ${id === undefined ? "NULL" : `MAX(${id})`} FROM ${context.from}`,
      params: [],
    }),
    ceilingOf: (row) => ({
      timestamp: row === undefined || ts === undefined ? null : timestampOfRow(context, row, 0),
      key: row === undefined || id === undefined || row[1] === null ? null : keyOfRow(context, row, 1),
    }),
    chunkQuery(cursor: Position, ceiling: Position, limit: number): SqlQuery {
      const values: Record<Placeholder, unknown> = {
        last_timestamp: cursor.timestamp ?? "0001-01-01 00:00:00.000000",
        last_id: idValue(cursor.key) ?? -1n,
        ceiling_timestamp: ceiling.timestamp,
        ceiling_id: idValue(ceiling.key),
        batch_size: limit,
      };
      return { sql: compiled.sql, params: compiled.order.map((name) => values[name]) };
    },
    positionOf: (row) => ({
      timestamp: ts === undefined ? null : timestampOfRow(context, row),
      key: id === undefined ? null : keyOfRow(context, row),
    }),
    // The query's own ORDER BY decides what "past the ceiling" means: only a short chunk ends the table.
    reached: (_cursor, ceiling) => ceiling.timestamp === null && ceiling.key === null,
  };
}
