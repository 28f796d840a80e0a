/** lambdas/domain/watermark.ts with composite keys: the windows a run records and a cursor key that changed. */
import { describe, expect, it } from "vitest";
import {
  beginRun,
  clearValidated,
  commitChunk,
  cursorOf,
  CursorKeyChangedError,
  nextReread,
  newWatermark,
  WatermarkSchema,
  type BeginRun,
} from "#domain/watermark.ts";

describe("watermark windows and key tuples", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const start = (runId: string, extra: Partial<BeginRun> = {}): BeginRun => ({
    runId,
    strategy: "id_only",
    ceiling: { timestamp: null, key: ["100", "2000-01-01"] },
    now,
    leaseSeconds: 60,
    lookbackSeconds: 0,
    restart: false,
    cursorColumns: ["emp_no", "from_date"],
    ...extra,
  });
  const commit = (runId: string, key: string[], rows: number, done = false) => ({
    runId,
    cursor: { timestamp: null, key },
    rows,
    file: `f-${key.join("-")}`,
    zeroDates: {},
    done,
    windowEnd: done ? { timestamp: null, key: ["100", "2000-01-01"] } : undefined,
    schemaKey: "schema-1",
    now,
    leaseSeconds: 60,
  });

  it("keep a window across a failed run and its resume; list it for validation when it ends", () => {
    let w = beginRun(newWatermark("p", "s.t", "id_only", now), start("a"));
    w = commitChunk(w, commit("a", ["50", "1999-01-01"], 40));
    expect(w.last_processed_id).toBe("50");
    expect(w.last_processed_key).toEqual(["50", "1999-01-01"]);
    w = { ...w, mysql_state: { ...w.mysql_state, status: "failed", lease_expires_at: null } };
    w = beginRun(w, start("b"));
    expect(w.mysql_state).toMatchObject({ window_start: { timestamp: null, key: null }, window_rows: 40 });
    w = commitChunk(w, commit("b", ["100", "2000-01-01"], 60, true));
    expect(w.s3_state.pending_validation).toEqual([
      {
        start: { timestamp: null, key: null },
        end: { timestamp: null, key: ["100", "2000-01-01"] },
        rows: 100,
        run_id: "b",
        schema_key: "schema-1",
        extracted_at: now.toISOString(),
      },
    ]);
    // Closed: a run resuming after a failed load starts the next window where this one ended.
    expect(w.mysql_state).toMatchObject({ window_start: { timestamp: null, key: ["100", "2000-01-01"] }, window_rows: 0 });
    const next = beginRun({ ...w, mysql_state: { ...w.mysql_state, lease_expires_at: null } }, start("c"));
    expect(next.mysql_state).toMatchObject({ window_start: { timestamp: null, key: ["100", "2000-01-01"] }, window_rows: 0 });
    expect(clearValidated(next, next.s3_state.pending_validation, now).s3_state.pending_validation).toEqual([]);
  });

  it("queue a window short at its end for this run to read again (not validated as it is), and refuse a cursor written for other key columns", () => {
    let w = beginRun(newWatermark("p", "s.t", "id_only", now), start("a"));
    w = commitChunk(w, commit("a", ["50", "1999-01-01"], 40));
    const end = { timestamp: null, key: ["100", "2000-01-01"] };
    const short = commitChunk(w, { ...commit("a", ["100", "2000-01-01"], 60), done: true, windowEnd: end, short: { mysqlRows: 101 }, schemaKey: "schema-1" });
    expect(short.s3_state.pending_validation).toEqual([]);
    expect(short.mysql_state).toMatchObject({ status: "success", window_rows: 0 });
    expect(cursorOf(short).key).toEqual(["100", "2000-01-01"]);
    expect(nextReread(short, "a")).toEqual({
      start: { timestamp: null, key: null },
      end,
      rows: 100,
      run_id: "a",
      schema_key: "schema-1",
      extracted_at: now.toISOString(),
      late_rows: 1,
      reread: { attempts: 0, unchanged: 0, mysql_rows: 101 },
      after_run: null,
    });
    expect(() => beginRun({ ...w, mysql_state: { ...w.mysql_state, lease_expires_at: null } }, start("z", { cursorColumns: ["emp_no"] }))).toThrow(
      CursorKeyChangedError,
    );
  });

  it("read a watermark written before tuples: its last_processed_id is a one-column key", () => {
    const old = WatermarkSchema.parse({
      ...newWatermark("p", "s.t", "id_only", now),
      last_processed_key: undefined,
      last_processed_id: "9007199254740993",
      mysql_state: {
        status: "success",
        total_rows: 1,
        last_session_rows: 1,
        run_id: "r",
        ceiling: { timestamp: null, id: "9007199254740993" },
        last_error: null,
      },
      s3_state: { backup_s3_files: [], processed_s3_files: [] },
    });
    expect(cursorOf(old)).toEqual({ timestamp: null, key: ["9007199254740993"] });
    expect(beginRun(old, start("n", { cursorColumns: ["id"] })).last_processed_key).toEqual(["9007199254740993"]);
  });
});
