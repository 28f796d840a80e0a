/** lambdas/domain/range-state.ts: a window's ranges set once, each range's chunks committed to its own cursor, a resumed window kept. */
import { describe, expect, it } from "vitest";
import { commitRangeChunk, planRanges, rangeOf, rangesLeft, rangesSpent } from "#domain/range-state.ts";
import { rangesBetween } from "#domain/ranges.ts";
import { beginRun, commitChunk, failRun, LeaseLostError, newWatermark, type Watermark } from "#domain/watermark.ts";

const now = new Date("2026-12-04T00:00:00Z");
const ceiling = { timestamp: null, key: ["900"] };
const begun = (watermark: Watermark, runId: string) =>
  beginRun(watermark, { runId, strategy: "id_only", ceiling, now, leaseSeconds: 900, lookbackSeconds: 0, restart: false, cursorColumns: ["id"] });
const plan = rangesBetween([["300"], ["600"]], [300, 300, 300]);
const chunk = (runId: string, range: number, to: string, rows: number, done = false) => ({
  runId,
  range,
  cursor: { timestamp: null, key: [to] },
  rows,
  file: `f_${range}_${to}.parquet`,
  bytes: 10,
  zeroDates: {},
  done,
  readMs: 5,
  now,
  leaseSeconds: 900,
});

describe("a window's key ranges in the watermark", () => {
  it("are set once, for the run holding the table, before anything of the window is read", () => {
    const start = begun(newWatermark("p", "s.t", "id_only", now), "a");
    const planned = planRanges(start, "a", plan, now, "schema-1");
    expect(planned.mysql_state.ranges.map((r) => [r.index, r.after, r.up_to, r.done])).toEqual([
      [0, null, ["300"], false],
      [1, ["300"], ["600"], false],
      [2, ["600"], null, false],
    ]);
    expect(planRanges(planned, "a", rangesBetween([["1"]], [1, 1]), now, "schema-1")).toBe(planned);
    expect(planRanges(start, "a", rangesBetween([], [900]), now, "schema-1")).toBe(start);
    expect(() => planRanges(start, "b", plan, now, "schema-1")).toThrow(LeaseLostError);
    expect(() => planRanges({ ...start, mysql_state: { ...start.mysql_state, window_rows: 5 } }, "a", plan, now, "schema-1")).toThrow(/read by one reader/);
  });

  it("commit each range's chunks to its own cursor and counts, the window's rows and its files", () => {
    let watermark = planRanges(begun(newWatermark("p", "s.t", "id_only", now), "a"), "a", plan, now, "schema-1");
    watermark = commitRangeChunk(watermark, chunk("a", 1, "450", 150));
    watermark = commitRangeChunk(watermark, chunk("a", 0, "300", 300, true));
    watermark = commitRangeChunk(watermark, chunk("a", 1, "600", 150, true));
    expect(rangeOf(watermark, 1)).toMatchObject({ cursor: ["600"], done: true, rows: 300, files: 2, bytes: 20, next_chunk: 2, read_ms: 10 });
    expect(watermark.mysql_state.window_rows).toBe(600);
    expect(watermark.mysql_state.last_session_rows).toBe(600);
    expect(watermark.s3_state.backup_s3_files).toHaveLength(3);
    // A reply lost after the range ended: its retry changes nothing.
    expect(commitRangeChunk(watermark, chunk("a", 1, "600", 0, true))).toBe(watermark);
    expect(rangesLeft(watermark)).toBe(1);
    const spent = { transitions: 3, invocations: 1, lambdaGbMs: 40, s3Writes: 2, s3Reads: 1, loadWindows: [] };
    watermark = commitRangeChunk(watermark, { ...chunk("a", 2, "900", 300, true), spent });
    expect(rangesLeft(watermark)).toBe(0);
    // What the readers spent comes back with the window's close (their child executions return nothing).
    expect(rangesSpent(watermark)).toEqual(spent);
    expect(() => commitRangeChunk(watermark, chunk("b", 2, "900", 1))).toThrow(LeaseLostError);
    expect(() => rangeOf(watermark, 7)).toThrow(/no range 7/);
    // The window's end (the table's ExtractChunk, once every range is read) clears them.
    const closed = commitChunk(watermark, {
      runId: "a",
      cursor: ceiling,
      rows: 0,
      file: undefined,
      zeroDates: {},
      done: true,
      windowEnd: ceiling,
      now,
      leaseSeconds: 900,
    });
    expect(closed.mysql_state.ranges).toEqual([]);
    expect(closed.mysql_state.recent_windows.at(-1)?.rows).toBe(900);
  });

  it("survive a failed run: the next run resumes the window, its last range reading on to the new ceiling", () => {
    let watermark = planRanges(begun(newWatermark("p", "s.t", "id_only", now), "a"), "a", plan, now, "schema-1");
    watermark = commitRangeChunk(watermark, chunk("a", 0, "300", 300, true));
    watermark = commitRangeChunk(watermark, chunk("a", 1, "400", 100));
    watermark = commitRangeChunk(watermark, chunk("a", 2, "900", 300, true));
    const resumed = begun(failRun(watermark, "a", "Lambda.Unknown", now), "b");
    expect(resumed.mysql_state.ranges.map((r) => [r.index, r.cursor, r.done])).toEqual([
      [0, ["300"], true],
      [1, ["400"], false],
      [2, ["900"], false],
    ]);
    expect(resumed.mysql_state.window_rows).toBe(700);
    // A run that starts a new window (the last one ended) has none.
    const next = begun({ ...resumed, mysql_state: { ...resumed.mysql_state, status: "success", run_id: "b", lease_expires_at: null } }, "c");
    expect(next.mysql_state.ranges).toEqual([]);
  });

  it("full_sync resumes a window left in ranges only with the schema it was planned with; otherwise it starts over", () => {
    const fullSync = (watermark: Watermark, runId: string, schemaKey: string) =>
      beginRun(watermark, {
        runId,
        strategy: "full_sync",
        ceiling,
        now,
        leaseSeconds: 900,
        lookbackSeconds: 0,
        restart: true,
        cursorColumns: ["id"],
        schemaKey,
      });
    let watermark = planRanges(fullSync(newWatermark("p", "s.t", "full_sync", now), "a", "schema-1"), "a", plan, now, "schema-1");
    watermark = commitRangeChunk(watermark, chunk("a", 0, "300", 300, true));
    watermark = commitRangeChunk(watermark, chunk("a", 1, "400", 100));
    const failed = failRun(watermark, "a", "Lambda.Unknown", now);
    const resumed = fullSync(failed, "b", "schema-1");
    expect(resumed.mysql_state.ranges.map((r) => [r.index, r.cursor, r.done])).toEqual([
      [0, ["300"], true],
      [1, ["400"], false],
      [2, null, false],
    ]);
    expect(resumed.mysql_state.window_rows).toBe(400);
    // The files read before stay pending: they load with the rest, in one replace.
    expect(resumed.s3_state.backup_s3_files).toEqual(["f_0_300.parquet", "f_1_400.parquet"]);
    // Another schema: the files would load as two replaces (the second deleting the first's rows): start over.
    const restarted = fullSync(failed, "b", "schema-2");
    expect(restarted.mysql_state.ranges).toEqual([]);
    expect(restarted.mysql_state.window_rows).toBe(0);
    expect(restarted.s3_state.backup_s3_files).toEqual([]);
    // A window read by one reader starts over, as always.
    const single = fullSync(
      failRun(
        commitChunk(fullSync(newWatermark("p", "s.t", "full_sync", now), "a", "schema-1"), {
          runId: "a",
          cursor: { timestamp: null, key: ["5"] },
          rows: 5,
          file: "one.parquet",
          zeroDates: {},
          done: false,
          now,
          leaseSeconds: 900,
        }),
        "a",
        "Lambda.Unknown",
        now,
      ),
      "b",
      "schema-1",
    );
    expect(single.mysql_state.window_rows).toBe(0);
    expect(single.s3_state.backup_s3_files).toEqual([]);
  });
});
