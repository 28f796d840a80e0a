/**
 * full_sync: the whole table every run (replace or append is the loader's business). Paged by keyset on a
 * single-column integer primary key, from the start each run; without one, the table is read in one chunk.
 */
import type { TableSchema } from "#domain/table-schema.ts";
import { idOnlyStrategy } from "./id-only.ts";
import type { SqlQuery, Strategy, StrategyContext } from "./types.ts";

const INTEGER_TYPE = /^(tiny|small|medium|big)?int/;

/** The single integer key full_sync can page on, if the table has one. */
export function pagingKey(schema: TableSchema): string | undefined {
  if (schema.primaryKey.length !== 1) return undefined;
  const key = schema.primaryKey[0];
  const column = schema.columns.find((c) => c.source === key);
  return column !== undefined && INTEGER_TYPE.test(column.sourceType) ? column.source : undefined;
}

/** Position of a finished whole-table read: the ceiling's id, so `reached` is true afterwards. */
const WHOLE_TABLE = "1";

export function fullSyncStrategy(context: StrategyContext): Strategy {
  const key = pagingKey(context.schema);
  if (key !== undefined) {
    return idOnlyStrategy({ ...context, idIndex: context.schema.columns.findIndex((c) => c.source === key) }, key);
  }
  return {
    cutsOnlyBetweenTimestamps: false,
    singleChunk: true,
    ceilingQuery: (): SqlQuery => ({ sql: `SELECT NULL, ${WHOLE_TABLE}`, params: [] }),
    chunkQuery: (): SqlQuery => ({ sql: `SELECT ${context.select} FROM ${context.from}`, params: [] }),
    positionOf: () => ({ timestamp: null, id: WHOLE_TABLE }),
    reached: (cursor) => cursor.id === WHOLE_TABLE,
  };
}
