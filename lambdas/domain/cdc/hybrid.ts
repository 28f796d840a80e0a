/**
 * hybrid: (timestamp, unique key…) keyset. The key breaks ties, so any number of rows may share a timestamp, chunks
 * cut anywhere, and the ceiling is the (timestamp, key…) of the newest settled row at Begin.
 */
import { orderBy, tupleBound } from "./keyset.ts";
import { compareTimestamps } from "./timestamps.ts";
import {
  afterStart,
  compareKeys,
  keyOfRow,
  settledBound,
  timestampInFlight,
  timestampOfRow,
  type Bound,
  type Position,
  type SqlQuery,
  type Strategy,
  type StrategyContext,
  type WindowRule,
} from "./types.ts";

/** hybrid: windows ordered by (timestamp, key…). */
export const hybridWindows: WindowRule = {
  compared: true,
  bounds(keys, window) {
    const { start, end } = window;
    if (keys.timestamp === undefined || end.timestamp === null) return undefined;
    const order = [keys.timestamp, ...keys.key];
    let lower: Bound | undefined;
    if (start !== null && start.timestamp !== null) {
      // After a lookback rewind a start is a timestamp alone: from that timestamp on, inclusive.
      lower = start.key === null ? { bound: "from", values: [start.timestamp] } : { bound: afterStart(window), values: [start.timestamp, ...start.key] };
    }
    return { order, lower, upper: { bound: "upTo", values: [end.timestamp, ...(end.key ?? [])] } };
  },
};

export function hybridStrategy(context: StrategyContext): Strategy {
  const ts = context.timestamp;
  if (ts === undefined) throw new Error("hybrid needs cdc_timestamp_column");
  const order = [ts, ...context.key];
  return {
    cutsOnlyBetweenTimestamps: false,
    cursorFields: { timestamp: true, key: true },
    rereadsLateWindows: true,
    settles: true,
    ceilingQuery: (settledBefore): SqlQuery => {
      const settled = settledBound(context, settledBefore);
      return { sql: `SELECT ${orderBy(order)} FROM ${context.from} WHERE ${settled.sql} ORDER BY ${orderBy(order, "DESC")} LIMIT 1`, params: settled.params };
    },
    ceilingOf: (row) => (row === undefined ? { timestamp: null, key: null } : { timestamp: timestampOfRow(context, row, 0), key: keyOfRow(context, row, 1) }),
    chunkQuery(cursor: Position, ceiling: Position, limit: number): SqlQuery {
      const where = [];
      if (cursor.timestamp !== null) {
        // After a lookback rewind the cursor is a timestamp alone: from that timestamp on, inclusive.
        where.push(
          cursor.key === null ? tupleBound("mysql", "from", [ts], [cursor.timestamp]) : tupleBound("mysql", "after", order, [cursor.timestamp, ...cursor.key]),
        );
      }
      where.push(tupleBound("mysql", "upTo", order, [ceiling.timestamp ?? "", ...(ceiling.key ?? [])]));
      return {
        sql: `SELECT ${context.select} FROM ${context.from} WHERE ${where.map((w) => w.sql).join(" AND ")} ORDER BY ${orderBy(order)} LIMIT ?`,
        params: [...where.flatMap((w) => w.params), limit],
      };
    },
    inFlight: (cursor) => timestampInFlight(context, cursor),
    positionOf: (row) => ({ timestamp: timestampOfRow(context, row), key: keyOfRow(context, row) }),
    reached(cursor, ceiling) {
      if (ceiling.timestamp === null) return true;
      if (cursor.timestamp === null) return false;
      const order = compareTimestamps(cursor.timestamp, ceiling.timestamp);
      if (order !== 0) return order > 0;
      if (cursor.key === null || ceiling.key === null) return false;
      return (compareKeys(context, cursor.key, ceiling.key) ?? -1) >= 0;
    },
  };
}
