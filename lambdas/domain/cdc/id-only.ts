/** id_only: the id is the cursor (append-only tables). Gaps cost nothing: each chunk is one `id > cursor` query. */
import { compareIds, idParam, quoteIdentifier, textOf, type Position, type SqlQuery, type Strategy, type StrategyContext } from "./types.ts";

export function idOnlyStrategy(context: StrategyContext, idColumn = context.idColumn): Strategy {
  const id = quoteIdentifier(idColumn ?? "");
  return {
    cutsOnlyBetweenTimestamps: false,
    ceilingQuery: (): SqlQuery => ({ sql: `SELECT NULL, MAX(${id}) FROM ${context.from}`, params: [] }),
    chunkQuery(cursor: Position, ceiling: Position, limit: number): SqlQuery {
      const lower = cursor.id === null ? "" : `${id} > ? AND `;
      const params = cursor.id === null ? [] : [idParam(cursor.id)];
      return {
        sql: `SELECT ${context.select} FROM ${context.from} WHERE ${lower}${id} <= ? ORDER BY ${id} LIMIT ?`,
        params: [...params, idParam(ceiling.id ?? "0"), limit],
      };
    },
    positionOf: (row) => ({ timestamp: null, id: textOf(row[context.idIndex ?? -1]) }),
    reached: (cursor, ceiling) => ceiling.id === null || (cursor.id !== null && compareIds(cursor.id, ceiling.id) >= 0),
  };
}
