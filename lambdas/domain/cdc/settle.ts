/**
 * Pure: how recent a row may be for this run's ceiling (timestamp strategies). The settle window holds back rows
 * newer than the source's "now" minus settle_seconds — "now" read from the source's clock in the cursor column's zone
 * (TIMESTAMP: UTC; DATETIME: the source's time_zone, default the server's own). Where the sync user may read
 * INNODB_TRX, the transaction horizon holds the ceiling below the start of the oldest transaction still writing too:
 * a row it wrote carries a timestamp no older than its start, and becomes visible only at its commit.
 */
import { rewind } from "./timestamps.ts";
import { earlier, justBefore, secondsBetween, shiftBy, wallClockIn } from "./time-zone.ts";

/** The source's clock: UTC now, now in the server's zone (named as MySQL reports it), and in the OS zone. */
export type SourceClock = { utcNow: string; serverZone: string; serverNow: string; systemNow: string };

export type SettleInput = {
  /** TIMESTAMP columns are read in UTC; DATETIME (and DATE) hold the application's wall-clock time. */
  cursorType: "timestamp" | "datetime";
  /** sources.<name>.time_zone (IANA name or ±hh:mm); undefined: the server's own zone. */
  zone: string | undefined;
  clock: SourceClock;
  settleSeconds: number;
  /** INNODB_TRX: the oldest write transaction's start in the OS zone (null: none open), or why it cannot be read. */
  oldestWrite: { startedAt: string | null } | { unreadable: string };
};

export type SettleBound = {
  /** The newest timestamp the run's ceiling may have (MySQL text, in the cursor column's zone). */
  settledBefore: string;
  /** The zone "now" was read in. */
  zone: string;
  /** Seconds the transaction horizon held the ceiling below the settle window (0: it did not). */
  heldBackSeconds: number;
  /** One line for the run summary: what the horizon did. */
  horizon: string;
};

export function settleBound(input: SettleInput): SettleBound {
  const { clock } = input;
  const zone = input.cursorType === "timestamp" ? "UTC (a TIMESTAMP column)" : (input.zone ?? clock.serverZone);
  const now = input.cursorType === "timestamp" ? clock.utcNow : input.zone === undefined ? clock.serverNow : wallClockIn(input.zone, clock.utcNow);
  const settled = rewind(now, input.settleSeconds);
  if ("unreadable" in input.oldestWrite) {
    return { settledBefore: settled, zone, heldBackSeconds: 0, horizon: `not read (${input.oldestWrite.unreadable}): settle and re-reads only` };
  }
  const started = input.oldestWrite.startedAt;
  if (started === null) return { settledBefore: settled, zone, heldBackSeconds: 0, horizon: "no write transaction open" };
  // trx_started is the OS zone's wall clock, to the second: moved into the cursor's zone, then just before it.
  const horizon = justBefore(shiftBy(started, now, clock.systemNow));
  const bound = earlier(settled, horizon);
  const heldBackSeconds = Math.max(0, secondsBetween(bound, settled));
  return {
    settledBefore: bound,
    zone,
    heldBackSeconds,
    horizon:
      heldBackSeconds > 0
        ? `held the ceiling back ${heldBackSeconds.toFixed(1)} s below the settle window: a transaction writing since ${started} (server OS time) is open`
        : `a write transaction open since ${started} (server OS time), inside the settle window`,
  };
}
