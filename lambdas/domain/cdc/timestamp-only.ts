/**
 * timestamp_only: the timestamp alone is the cursor, so one timestamp is never split across chunks (a later
 * `> cursor` would skip the rest of it): the extractor holds back the last timestamp of a full chunk and, when a
 * single timestamp fills a whole chunk, reads that timestamp whole (groupQuery).
 */
import { compareTimestamps } from "./timestamps.ts";
import {
  afterStart,
  quoteIdentifier,
  settledBound,
  timestampInFlight,
  timestampOfRow,
  type Position,
  type SqlQuery,
  type Strategy,
  type StrategyContext,
  type WindowRule,
} from "./types.ts";

/** timestamp_only: windows of whole timestamps. */
export const timestampOnlyWindows: WindowRule = {
  compared: true,
  bounds(keys, window) {
    const { start, end } = window;
    if (keys.timestamp === undefined || end.timestamp === null) return undefined;
    return {
      order: [keys.timestamp],
      lower: start?.timestamp === null || start === null ? undefined : { bound: afterStart(window), values: [start.timestamp] },
      upper: { bound: "upTo", values: [end.timestamp] },
    };
  },
};

export type TimestampOnlyStrategy = Strategy & { groupQuery(timestamp: string): SqlQuery };

export function timestampOnlyStrategy(context: StrategyContext): TimestampOnlyStrategy {
  if (context.timestamp === undefined) throw new Error("timestamp_only needs cdc_timestamp_column");
  const ts = quoteIdentifier(context.timestamp.source);
  return {
    cutsOnlyBetweenTimestamps: true,
    cursorFields: { timestamp: true, key: false },
    rereadsLateWindows: true,
    settles: true,
    ceilingQuery: (settledBefore): SqlQuery => {
      const settled = settledBound(context, settledBefore);
      return { sql: `SELECT MAX(${ts}) FROM ${context.from} WHERE ${settled.sql}`, params: settled.params };
    },
    ceilingOf: (row) => ({ timestamp: row === undefined ? null : timestampOfRow(context, row, 0), key: null }),
    chunkQuery(cursor: Position, ceiling: Position, limit: number): SqlQuery {
      const lower = cursor.timestamp === null ? "" : `${ts} > ? AND `;
      const params = cursor.timestamp === null ? [] : [cursor.timestamp];
      return {
        sql: `SELECT ${context.select} FROM ${context.from} WHERE ${lower}${ts} <= ? ORDER BY ${ts} LIMIT ?`,
        params: [...params, ceiling.timestamp, limit],
      };
    },
    groupQuery: (timestamp: string): SqlQuery => ({
      sql: `SELECT ${context.select} FROM ${context.from} WHERE ${ts} = ?`,
      params: [timestamp],
    }),
    inFlight: (cursor) => timestampInFlight(context, cursor),
    positionOf: (row) => ({ timestamp: timestampOfRow(context, row), key: null }),
    reached: (cursor, ceiling) => ceiling.timestamp === null || (cursor.timestamp !== null && compareTimestamps(cursor.timestamp, ceiling.timestamp) >= 0),
  };
}
