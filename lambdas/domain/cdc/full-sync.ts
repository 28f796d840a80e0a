/**
 * full_sync: the whole table every run (replace or append is the loader's business). Paged by keyset on the primary
 * key (any shape), from the start each run; a table without one is read in one chunk.
 */
import { idOnlyStrategy } from "./id-only.ts";
import type { SqlQuery, Strategy, StrategyContext } from "./types.ts";

/** Position of a finished whole-table read: the ceiling's key, so `reached` is true afterwards. */
const WHOLE_TABLE = ["1"];

export function fullSyncStrategy(context: StrategyContext): Strategy {
  // Paged like id_only, but every run reads the whole table: no window is counted or read again, its cursor starts
  // over (there is none to set), and nothing is in flight.
  const whole = { recountsRecentWindows: false, rereadsLateWindows: false, cursorFields: { timestamp: false, key: false }, inFlight: () => undefined };
  if (context.key.length > 0) return { ...idOnlyStrategy(context), ...whole };
  return {
    ...whole,
    cutsOnlyBetweenTimestamps: false,
    singleChunk: true,
    ceilingQuery: (): SqlQuery => ({ sql: "SELECT 1", params: [] }),
    ceilingOf: () => ({ timestamp: null, key: WHOLE_TABLE }),
    chunkQuery: (): SqlQuery => ({ sql: `SELECT ${context.select} FROM ${context.from}`, params: [] }),
    positionOf: () => ({ timestamp: null, key: WHOLE_TABLE }),
    reached: (cursor) => cursor.key?.[0] === WHOLE_TABLE[0],
  };
}
