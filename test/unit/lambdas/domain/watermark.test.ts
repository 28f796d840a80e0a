/** lambdas/domain/watermark.ts: a run's transitions (begin, commit a chunk, load) and the lease. */
import { describe, expect, it } from "vitest";
import { beginRun, commitChunk, LeaseHeldError, LeaseLostError, markLoaded, newWatermark, PROCESSED_FILES_KEPT, type BeginRun } from "#domain/watermark.ts";

describe("watermark transitions", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const begin = (runId: string, at = now) => ({
    runId,
    strategy: "hybrid" as const,
    ceiling: { timestamp: "2026-01-01 00:00:00", key: ["9"] },
    now: at,
    leaseSeconds: 60,
    lookbackSeconds: 0,
    restart: false,
    cursorColumns: ["id"],
  });

  it("a second run is refused while the lease holds, and takes over (resuming the cursor) once it expired", () => {
    const first = beginRun(newWatermark("p", "s.t", "hybrid", now), begin("a"));
    expect(beginRun(first, begin("a"))).toBe(first);
    expect(() => beginRun(first, begin("b"))).toThrow(LeaseHeldError);
    const committed = commitChunk(first, {
      runId: "a",
      cursor: { timestamp: "2025-06-01 00:00:00", key: ["5"] },
      rows: 5,
      file: "k1",
      zeroDates: {},
      done: false,
      now,
      leaseSeconds: 60,
    });
    const later = new Date(now.getTime() + 61_000);
    const takeover = beginRun(committed, begin("b", later));
    expect(takeover.mysql_state.run_id).toBe("b");
    expect(takeover.last_mysql_data_timestamp).toBe("2025-06-01T00:00:00.000000Z");
    expect(takeover.s3_state.backup_s3_files).toEqual(["k1"]);
    expect(() =>
      commitChunk(takeover, {
        runId: "a",
        cursor: { timestamp: null, key: null },
        rows: 1,
        file: "k2",
        zeroDates: {},
        done: false,
        now: later,
        leaseSeconds: 60,
      }),
    ).toThrow(LeaseLostError);
  });

  it("keeps a bounded tail of processed files", () => {
    const files = Array.from({ length: PROCESSED_FILES_KEPT + 5 }, (_, i) => `f${i}`);
    const loaded = markLoaded(
      { ...newWatermark("p", "s.t", "id_only", now), s3_state: { backup_s3_files: files, processed_s3_files: [], pending_validation: [] } },
      files,
      10,
      "load-1",
      now,
    );
    expect(loaded.s3_state.backup_s3_files).toEqual([]);
    expect(loaded.s3_state.processed_s3_files).toHaveLength(PROCESSED_FILES_KEPT);
    expect(loaded.s3_state.processed_s3_files.at(-1)).toBe(files.at(-1));
  });

  it("keeps the last window extracted; a run after a successful one starts at rereadFrom, a resumed one where it stopped", () => {
    const idOnly = (runId: string, extra: Partial<BeginRun> = {}): BeginRun => ({
      ...begin(runId),
      strategy: "id_only",
      ceiling: { timestamp: null, key: ["120"] },
      ...extra,
    });
    const first = beginRun({ ...newWatermark("p", "s.t", "id_only", now), last_processed_key: ["100"], last_processed_id: "100" }, idOnly("a"));
    const chunk = { runId: "a", rows: 19, file: "k1", zeroDates: {}, now, leaseSeconds: 60, schemaKey: "schema-1" };
    const done = commitChunk(first, { ...chunk, cursor: { timestamp: null, key: ["120"] }, done: true, windowEnd: { timestamp: null, key: ["120"] } });
    expect(done.mysql_state.last_window).toEqual({
      start: { timestamp: null, key: ["100"] },
      end: { timestamp: null, key: ["120"] },
      rows: 19,
      run_id: "a",
      schema_key: "schema-1",
    });

    const later = new Date(now.getTime() + 120_000);
    const reread = beginRun(done, idOnly("b", { now: later, rereadFrom: { timestamp: null, key: ["100"] } }));
    expect(reread.last_processed_key).toEqual(["100"]);
    expect(reread.mysql_state.window_start).toEqual({ timestamp: null, key: ["100"] });
    // A chunk that did not end the window leaves the last window as it was.
    const partway = commitChunk(reread, { ...chunk, runId: "b", cursor: { timestamp: null, key: ["110"] }, done: false });
    expect(partway.mysql_state.last_window).toEqual(done.mysql_state.last_window);

    // After a failed run the window under way is resumed, not replaced.
    const failed = { ...partway, mysql_state: { ...partway.mysql_state, status: "failed" as const, lease_expires_at: null } };
    const resumed = beginRun(failed, idOnly("c", { now: later, rereadFrom: { timestamp: null, key: ["50"] } }));
    expect(resumed.last_processed_key).toEqual(["110"]);
    expect(resumed.mysql_state.window_start).toEqual({ timestamp: null, key: ["100"] });
  });
});
