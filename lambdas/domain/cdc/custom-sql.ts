/**
 * custom_sql: the user's query, its named placeholders (:last_timestamp, :last_id, :ceiling_timestamp, :ceiling_id,
 * :batch_size) bound as parameters in the order they appear — never spliced into the SQL. The query must order by
 * its cursor columns and honour :batch_size; the ceiling comes from the table like hybrid/timestamp_only/id_only.
 */
import { CUSTOM_SQL_PLACEHOLDERS } from "#config/schema.ts";
import { idParam, quoteIdentifier, textOf, type Position, type SqlQuery, type Strategy, type StrategyContext } from "./types.ts";

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

export function customSqlStrategy(context: StrategyContext): Strategy {
  const compiled = compilePlaceholders(context.customSql ?? "");
  const ts = context.timestampColumn === undefined ? undefined : quoteIdentifier(context.timestampColumn);
  const id = context.idColumn === undefined ? undefined : quoteIdentifier(context.idColumn);
  return {
    cutsOnlyBetweenTimestamps: false,
    ceilingQuery: (): SqlQuery => ({ sql: `SELECT ${ts === undefined ? "NULL" : `MAX(${ts})`}, ${id === undefined ? "NULL" : `MAX(${id})`} FROM ${context.from}`, params: [] }),
    chunkQuery(cursor: Position, ceiling: Position, limit: number): SqlQuery {
      const values: Record<Placeholder, unknown> = {
        last_timestamp: cursor.timestamp ?? "0001-01-01 00:00:00.000000",
        last_id: cursor.id === null ? -1n : idParam(cursor.id),
        ceiling_timestamp: ceiling.timestamp,
        ceiling_id: ceiling.id === null ? null : idParam(ceiling.id),
        batch_size: limit,
      };
      return { sql: compiled.sql, params: compiled.order.map((name) => values[name]) };
    },
    positionOf: (row) => ({ timestamp: textOf(row[context.timestampIndex ?? -1]), id: textOf(row[context.idIndex ?? -1]) }),
    // The query's own ORDER BY decides what "past the ceiling" means: only a short chunk ends the table.
    reached: (_cursor, ceiling) => ceiling.timestamp === null && ceiling.id === null,
  };
}
