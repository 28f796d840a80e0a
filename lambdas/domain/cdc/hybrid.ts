/**
 * hybrid: (timestamp, id) keyset. The id breaks ties, so any number of rows may share a timestamp, chunks cut
 * anywhere, and the ceiling is the (timestamp, id) of the newest row at Begin.
 */
import { compareTimestamps } from "./timestamps.ts";
import { compareIds, idParam, quoteIdentifier, textOf, type Position, type SqlQuery, type Strategy, type StrategyContext } from "./types.ts";

export function hybridStrategy(context: StrategyContext): Strategy {
  const ts = quoteIdentifier(context.timestampColumn ?? "");
  const id = quoteIdentifier(context.idColumn ?? "");
  return {
    cutsOnlyBetweenTimestamps: false,
    ceilingQuery: (): SqlQuery => ({ sql: `SELECT ${ts}, ${id} FROM ${context.from} ORDER BY ${ts} DESC, ${id} DESC LIMIT 1`, params: [] }),
    chunkQuery(cursor: Position, ceiling: Position, limit: number): SqlQuery {
      const where: string[] = [];
      const params: unknown[] = [];
      if (cursor.timestamp !== null) {
        where.push(`(${ts} > ? OR (${ts} = ? AND ${id} > ?))`);
        params.push(cursor.timestamp, cursor.timestamp, idParam(cursor.id ?? "-1"));
      }
      where.push(`(${ts} < ? OR (${ts} = ? AND ${id} <= ?))`);
      params.push(ceiling.timestamp, ceiling.timestamp, idParam(ceiling.id ?? "0"));
      return { sql: `SELECT ${context.select} FROM ${context.from} WHERE ${where.join(" AND ")} ORDER BY ${ts}, ${id} LIMIT ?`, params: [...params, limit] };
    },
    positionOf: (row) => ({ timestamp: textOf(row[context.timestampIndex ?? -1]), id: textOf(row[context.idIndex ?? -1]) }),
    reached(cursor, ceiling) {
      if (ceiling.timestamp === null) return true;
      if (cursor.timestamp === null) return false;
      const order = compareTimestamps(cursor.timestamp, ceiling.timestamp);
      return order > 0 || (order === 0 && compareIds(cursor.id ?? "-1", ceiling.id ?? "0") >= 0);
    },
  };
}
