import { describe, expect, it } from "vitest";
import { settleBound, type SettleInput } from "#domain/cdc/settle.ts";

/** A server whose OS and global zone are UTC, read at 09:35:20 UTC. */
const clock = {
  utcNow: "2026-12-04 09:35:20.000000",
  serverZone: "SYSTEM (UTC)",
  serverNow: "2026-12-04 09:35:20.000000",
  systemNow: "2026-12-04 09:35:20.000000",
};
const input = (over: Partial<SettleInput>): SettleInput => ({
  cursorType: "datetime",
  zone: undefined,
  clock,
  settleSeconds: 10,
  oldestWrite: { startedAt: null },
  ...over,
});

describe("the settle bound of a run's ceiling", () => {
  it("reads now in the cursor column's zone: UTC for TIMESTAMP, the configured zone or the server's for DATETIME", () => {
    expect(settleBound(input({ cursorType: "timestamp", zone: "+08:00" }))).toMatchObject({
      settledBefore: "2026-12-04 09:35:10.000000",
      zone: "UTC (a TIMESTAMP column)",
    });
    expect(settleBound(input({ zone: "+08:00" }))).toMatchObject({ settledBefore: "2026-12-04 17:35:10.000000", zone: "+08:00" });
    expect(settleBound(input({ zone: "Asia/Shanghai" })).settledBefore).toBe("2026-12-04 17:35:10.000000");
    const server = { ...clock, serverZone: "+05:00", serverNow: "2026-12-04 14:35:20.000000" };
    expect(settleBound(input({ clock: server }))).toMatchObject({ settledBefore: "2026-12-04 14:35:10.000000", zone: "+05:00" });
  });

  it("holds the ceiling below the oldest open write transaction, moved from the OS zone into the cursor's, and says by how much", () => {
    // OS zone +02:00: the transaction began at 11:34:50 OS time = 09:34:50 UTC = 17:34:50 at +08:00.
    const os = { ...clock, systemNow: "2026-12-04 11:35:20.000000" };
    const held = settleBound(input({ zone: "+08:00", clock: os, oldestWrite: { startedAt: "2026-12-04 11:34:50" } }));
    expect(held.settledBefore).toBe("2026-12-04 17:34:49.999999");
    expect(held.heldBackSeconds).toBeCloseTo(20, 2);
    expect(held.horizon).toMatch(/^held the ceiling back 20\.0 s below the settle window: a transaction writing since 2026-12-04 11:34:50/);
    // Begun inside the settle window: the settle bound is the earlier one.
    const recent = settleBound(input({ oldestWrite: { startedAt: "2026-12-04 09:35:15" } }));
    expect(recent).toMatchObject({ settledBefore: "2026-12-04 09:35:10.000000", heldBackSeconds: 0 });
  });

  it("without INNODB_TRX says so: settle and re-reads only", () => {
    const bound = settleBound(input({ oldestWrite: { unreadable: "the sync user lacks PROCESS, which INNODB_TRX needs" } }));
    expect(bound).toMatchObject({ settledBefore: "2026-12-04 09:35:10.000000", heldBackSeconds: 0 });
    expect(bound.horizon).toBe("not read (the sync user lacks PROCESS, which INNODB_TRX needs): settle and re-reads only");
  });
});
