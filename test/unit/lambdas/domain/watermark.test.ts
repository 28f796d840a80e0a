/** lambdas/domain/watermark.ts: a run's transitions (begin, commit a chunk, load) and the lease. */
import { describe, expect, it } from "vitest";
import { beginRun, commitChunk, LeaseHeldError, LeaseLostError, markLoaded, newWatermark, PROCESSED_FILES_KEPT } from "#domain/watermark.ts";

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
});
