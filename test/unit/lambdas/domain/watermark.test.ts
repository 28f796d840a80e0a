/** lambdas/domain/watermark.ts: a run's transitions (begin, commit a chunk, load) and the lease. */
import { describe, expect, it } from "vitest";
import {
  beginRun,
  commitChunk,
  commitRereadChunk,
  lateWindowOf,
  LeaseHeldError,
  nextReread,
  settleValidated,
  LeaseLostError,
  markLoaded,
  newWatermark,
  PROCESSED_FILES_KEPT,
  RECENT_WINDOWS_KEPT,
  RECENT_WINDOWS_SECONDS,
  RECENT_WINDOWS_MAX_ROWS,
  releaseLease,
  type BeginRun,
  type Watermark,
} from "#domain/watermark.ts";

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

  describe("recent windows (id_only's late rows)", () => {
    const idOnly = (runId: string, extra: Partial<BeginRun> = {}): BeginRun => ({
      ...begin(runId),
      strategy: "id_only",
      ceiling: { timestamp: null, key: ["120"] },
      ...extra,
    });
    const at = (key: string) => ({ timestamp: null, key: [key] });
    /** A successful run that read (from, to]: Begin, then one chunk that ends the window. */
    const run = (watermark: Watermark, runId: string, to: string, rows: number, extra: Partial<BeginRun> = {}, when = now) => {
      const begun = beginRun(watermark, idOnly(runId, { ceiling: at(to), ...extra, now: when }));
      const chunk = { runId, rows, file: `${runId}.parquet`, zeroDates: {}, now: when, leaseSeconds: 60, schemaKey: "schema-1" };
      return releaseLease(commitChunk(begun, { ...chunk, cursor: at(to), done: true, windowEnd: at(to) }), runId, when);
    };
    const start = { ...newWatermark("p", "s.t", "id_only", now), last_processed_key: ["100"], last_processed_id: "100" };

    it("keeps each extracted window, oldest first; a run given late windows queues them and reads them again after its own window", () => {
      const two = run(run(start, "a", "120", 19), "b", "150", 30);
      expect(two.mysql_state.recent_windows).toEqual([
        { start: at("100"), end: at("120"), rows: 19, run_id: "a", schema_key: "schema-1", extracted_at: now.toISOString() },
        { start: at("120"), end: at("150"), rows: 30, run_id: "b", schema_key: "schema-1", extracted_at: now.toISOString() },
      ]);
      const [first] = two.mysql_state.recent_windows;
      if (first === undefined) throw new Error("no window");
      const late = lateWindowOf({ window: first, mysqlRows: 20, loadedRows: 19 }, null);
      const begun = beginRun(two, idOnly("c", { ceiling: at("160"), lateWindows: [late] }));
      // The cursor stays: only the late window is read again, not everything after it.
      expect(begun.last_processed_key).toEqual(["150"]);
      expect(begun.mysql_state.late_windows).toEqual([{ ...first, late_rows: 1, reread: { attempts: 0, unchanged: 0, mysql_rows: 20 }, after_run: null }]);
      // Queued once, however often it is found.
      expect(
        beginRun(
          { ...begun, mysql_state: { ...begun.mysql_state, run_id: "x", lease_expires_at: null } },
          idOnly("d", { ceiling: at("160"), lateWindows: [late] }),
        ).mysql_state.late_windows,
      ).toHaveLength(1);
      const own = commitChunk(begun, {
        runId: "c",
        rows: 10,
        file: "c1",
        zeroDates: {},
        now,
        leaseSeconds: 60,
        cursor: at("160"),
        done: true,
        windowEnd: at("160"),
        schemaKey: "s",
      });
      expect(nextReread(own, "c")).toEqual(begun.mysql_state.late_windows[0]);
      const half = commitRereadChunk(own, {
        runId: "c",
        window: late,
        cursor: at("110"),
        rows: 10,
        file: "c2",
        zeroDates: {},
        schemaKey: "s",
        now,
        leaseSeconds: 60,
      });
      expect(half.mysql_state).toMatchObject({ reread_cursor: at("110"), reread_rows: 10, late_windows: [late] });
      const ended = commitRereadChunk(half, {
        runId: "c",
        window: late,
        cursor: at("120"),
        rows: 10,
        file: "c3",
        zeroDates: {},
        ended: { mysqlRows: 20 },
        schemaKey: "s",
        now,
        leaseSeconds: 60,
      });
      expect(ended.mysql_state).toMatchObject({ reread_cursor: null, reread_rows: 0, late_windows: [], last_session_rows: 30 });
      expect(ended.s3_state.backup_s3_files).toEqual(["a.parquet", "b.parquet", "c1", "c2", "c3"]);
      expect(ended.s3_state.pending_validation.at(-1)).toEqual({
        start: at("100"),
        end: at("120"),
        rows: 20,
        run_id: "c",
        schema_key: "s",
        reread: { attempts: 1, unchanged: 0, mysql_rows: 20 },
      });
      // The recount compares the window with what its re-read read.
      expect(ended.mysql_state.recent_windows[0]?.rows).toBe(20);
      expect(nextReread(ended, "c")).toBeUndefined();
    });

    it("a window still short after its re-read waits for the next run; found short again with the same MySQL count, it counts as unchanged", () => {
      const one = run(start, "a", "120", 19);
      const [window] = one.mysql_state.recent_windows;
      if (window === undefined) throw new Error("no window");
      const late = lateWindowOf({ window, mysqlRows: 21, loadedRows: 19 }, null);
      const begun = beginRun(one, idOnly("b", { ceiling: at("120"), lateWindows: [late] }));
      const done = commitChunk(begun, { runId: "b", rows: 0, file: undefined, zeroDates: {}, now, leaseSeconds: 60, cursor: at("120"), done: true });
      const short = commitRereadChunk(done, {
        runId: "b",
        window: late,
        cursor: at("120"),
        rows: 20,
        file: "b1",
        zeroDates: {},
        ended: { mysqlRows: 21 },
        schemaKey: "s",
        now,
        leaseSeconds: 60,
      });
      expect(short.mysql_state.late_windows).toEqual([
        {
          ...window,
          extracted_at: undefined,
          rows: 20,
          run_id: "b",
          schema_key: "s",
          late_rows: 1,
          reread: { attempts: 1, unchanged: 1, mysql_rows: 21 },
          after_run: "b",
        },
      ]);
      expect(nextReread(short, "b"), "not by the run that read it").toBeUndefined();
      expect(nextReread(short, "c")?.late_rows).toBe(1);
      // Validation of a re-read window: its history comes along; a new commit into it (another count) starts over.
      const validated = { ...window, reread: { attempts: 2, unchanged: 1, mysql_rows: 21 } };
      expect(lateWindowOf({ window: validated, mysqlRows: 21, loadedRows: 20 }, "c").reread).toEqual({ attempts: 2, unchanged: 2, mysql_rows: 21 });
      expect(lateWindowOf({ window: validated, mysqlRows: 22, loadedRows: 20 }, "c").reread).toEqual({ attempts: 2, unchanged: 0, mysql_rows: 22 });
      const settled = settleValidated({ ...short, s3_state: { ...short.s3_state, pending_validation: [validated] } }, [validated], [], now);
      expect(settled.s3_state.pending_validation).toEqual([]);
    });

    it("a changed strategy forgets the windows; a resumed run continues its window", () => {
      const one = run(start, "a", "120", 19);
      const begun = beginRun(one, idOnly("b", { ceiling: at("150") }));
      const partway = commitChunk(begun, { runId: "b", rows: 5, file: "b1", zeroDates: {}, now, leaseSeconds: 60, cursor: at("125"), done: false });
      const failed = { ...partway, mysql_state: { ...partway.mysql_state, status: "failed" as const, lease_expires_at: null } };
      const resumed = beginRun(failed, idOnly("c", { ceiling: at("150") }));
      expect(resumed.last_processed_key).toEqual(["125"]);
      expect(resumed.mysql_state.window_start).toEqual(at("120"));
      expect(resumed.mysql_state.recent_windows).toHaveLength(1);
      expect(beginRun(one, { ...idOnly("d", { ceiling: at("150") }), strategy: "hybrid" }).mysql_state.recent_windows).toEqual([]);
    });

    it(`keeps every window of the last ${RECENT_WINDOWS_SECONDS} s in at most ${RECENT_WINDOWS_KEPT} (the oldest merge) and ${RECENT_WINDOWS_MAX_ROWS.toLocaleString("en")} rows; a newest window over the rows alone is not kept`, () => {
      // Runs back to back: many more windows than are kept, all within the hour. None is dropped: the oldest merge.
      let watermark: Watermark = start;
      for (let i = 1; i <= RECENT_WINDOWS_KEPT + 6; i++) watermark = run(watermark, `r${i}`, String(100 + i * 10), 10);
      const kept = watermark.mysql_state.recent_windows;
      expect(kept).toHaveLength(RECENT_WINDOWS_KEPT);
      expect(kept[0]).toMatchObject({ start: at("100"), end: at("170"), rows: 70, run_id: "r7" });
      expect(kept.at(-1)?.run_id).toBe(`r${RECENT_WINDOWS_KEPT + 6}`);
      // Contiguous from the first window's start to the last one's end: every key read in the hour is counted again.
      for (let i = 1; i < kept.length; i++) expect(kept[i]?.start).toEqual(kept[i - 1]?.end);
      expect(kept.reduce((sum, w) => sum + w.rows, 0)).toBe(10 * (RECENT_WINDOWS_KEPT + 6));
      const big = run(watermark, "big", "9000", RECENT_WINDOWS_MAX_ROWS - 100);
      expect(big.mysql_state.recent_windows.map((w) => w.run_id)).toEqual([...kept.slice(-10).map((w) => w.run_id), "big"]);
      expect(run(big, "huge", "99999", RECENT_WINDOWS_MAX_ROWS + 1).mysql_state.recent_windows).toEqual([]);
    });

    it(`drops windows extracted over ${RECENT_WINDOWS_SECONDS} s ago; a re-read window is never merged away`, () => {
      const hourAgo = new Date(now.getTime() - RECENT_WINDOWS_SECONDS * 1000 - 1000);
      const old = run(start, "old", "110", 10, {}, hourAgo);
      const recent = run(old, "new", "120", 10);
      expect(recent.mysql_state.recent_windows.map((w) => w.run_id)).toEqual(["new"]);
      // A window with a re-read history keeps it: its neighbours merge around it.
      const reread = {
        ...old,
        mysql_state: {
          ...old.mysql_state,
          recent_windows: old.mysql_state.recent_windows.map((w) => ({
            ...w,
            extracted_at: now.toISOString(),
            reread: { attempts: 1, unchanged: 0, mysql_rows: 11 },
          })),
        },
      };
      let watermark = reread as Watermark;
      for (let i = 1; i <= RECENT_WINDOWS_KEPT + 3; i++) watermark = run(watermark, `n${i}`, String(110 + i * 10), 10);
      const kept = watermark.mysql_state.recent_windows;
      expect(kept).toHaveLength(RECENT_WINDOWS_KEPT);
      expect(kept[0]).toMatchObject({ run_id: "old", rows: 10 });
      expect(kept[1]).toMatchObject({ start: at("110"), rows: 50 });
    });
  });
});
