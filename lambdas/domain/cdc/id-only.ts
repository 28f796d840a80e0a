/**
 * id_only: the unique key (one or more columns of any type MySQL orders) is the cursor. Gaps cost nothing: each chunk
 * is one `key > cursor` range scan, up to the ceiling (the greatest key at Begin).
 */
import { orderBy, tupleBound } from "./keyset.ts";
import {
  afterStart,
  compareKeys,
  keyOfRow,
  quoteIdentifier,
  type Position,
  type SqlQuery,
  type Strategy,
  type StrategyContext,
  type WindowRule,
} from "./types.ts";

/** Windows ordered by the unique key (id_only; full_sync, which is not compared). */
export const keyWindows = (compared: boolean): WindowRule => ({
  compared,
  bounds(keys, window) {
    const { start, end } = window;
    if (keys.key.length === 0 || end.key === null) return undefined;
    return {
      order: keys.key,
      lower: start?.key === null || start === null ? undefined : { bound: afterStart(window), values: start.key },
      upper: { bound: "upTo", values: end.key },
    };
  },
});

export function idOnlyStrategy(context: StrategyContext): Strategy {
  const key = context.key;
  if (key.length === 0) throw new Error("id_only needs a unique key");
  return {
    cutsOnlyBetweenTimestamps: false,
    cursorFields: { timestamp: false, key: true },
    recountsRecentWindows: true,
    rereadsLateWindows: true,
    ceilingQuery: (): SqlQuery => ({ sql: `SELECT ${orderBy(key)} FROM ${context.from} ORDER BY ${orderBy(key, "DESC")} LIMIT 1`, params: [] }),
    ceilingOf: (row) => ({ timestamp: null, key: row === undefined ? null : keyOfRow(context, row, 0) }),
    chunkQuery(cursor: Position, ceiling: Position, limit: number): SqlQuery {
      const where = [...(cursor.key === null ? [] : [tupleBound("mysql", "after", key, cursor.key)]), tupleBound("mysql", "upTo", key, ceiling.key ?? [])];
      return {
        sql: `SELECT ${context.select} FROM ${context.from} WHERE ${where.map((w) => w.sql).join(" AND ")} ORDER BY ${orderBy(key)} LIMIT ?`,
        params: [...where.flatMap((w) => w.params), limit],
      };
    },
    // A one-column integer key: rows with a greater key (other keys order by collations JS does not know).
    inFlight(cursor) {
      const [only, ...more] = key;
      const last = cursor.key?.[0];
      if (only === undefined || more.length > 0 || only.kind !== "integer" || last === undefined) return undefined;
      return { expression: `CAST(${quoteIdentifier(only.source)} AS CHAR)`, after: (value) => BigInt(value) > BigInt(last) };
    },
    positionOf: (row) => ({ timestamp: null, key: keyOfRow(context, row) }),
    reached: (cursor, ceiling) => ceiling.key === null || (cursor.key !== null && (compareKeys(context, cursor.key, ceiling.key) ?? -1) >= 0),
  };
}
