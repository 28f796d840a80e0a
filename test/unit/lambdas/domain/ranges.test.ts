/** lambdas/domain/ranges.ts: how many ranges, where they are cut from a sample, and their predicates. */
import { describe, expect, it } from "vitest";
import type { KeyColumn } from "#domain/cdc/keyset.ts";
import { AUTO_RANGE_MIN_ROWS, MAX_RANGES, planFromSample, rangeCount, rangePredicate, rangesBetween, rangesLine } from "#domain/ranges.ts";

const id: KeyColumn = { source: "merchant_id", name: "merchant_id", kind: "integer" };
const day: KeyColumn = { source: "day", name: "day", kind: "temporal" };

describe("rangeCount", () => {
  it("auto: one reader per AUTO_RANGE_MIN_ROWS rows, at most max_parallel_ranges; a number as it is; 1 is off", () => {
    expect(rangeCount("auto", 4, 0)).toBe(1);
    expect(rangeCount("auto", 4, 2 * AUTO_RANGE_MIN_ROWS - 1)).toBe(1);
    expect(rangeCount("auto", 4, 2 * AUTO_RANGE_MIN_ROWS)).toBe(2);
    expect(rangeCount("auto", 4, 1_000 * AUTO_RANGE_MIN_ROWS)).toBe(4);
    expect(rangeCount("auto", 8, 1_000 * AUTO_RANGE_MIN_ROWS)).toBe(8);
    expect(rangeCount(6, 4, 10)).toBe(6);
    expect(rangeCount(1, 4, 1_000 * AUTO_RANGE_MIN_ROWS)).toBe(1);
    expect(rangeCount(1_000, 4, 0)).toBe(MAX_RANGES);
  });
});

describe("planFromSample", () => {
  const keys = (n: number) => Array.from({ length: n }, (_, i) => [String(i + 1)]);

  it("cuts at the sampled key nearest each share of the rows, and the ranges cover every row once", () => {
    // 64 samples every 100 keys, 40 keys after the last: 6,440 rows.
    const ranges = planFromSample({ step: 100, keys: keys(64), tail: 40 }, 4);
    expect(ranges.map((r) => [r.after?.[0] ?? null, r.upTo?.[0] ?? null])).toEqual([
      [null, "16"],
      ["16", "32"],
      ["32", "48"],
      ["48", null],
    ]);
    expect(ranges.map((r) => r.rows)).toEqual([1600, 1600, 1600, 1640]);
    expect(ranges.map((r) => r.index)).toEqual([0, 1, 2, 3]);
  });

  it("gives fewer ranges than asked when the table has too few keys, never an empty one or a boundary twice", () => {
    expect(planFromSample({ step: 1000, keys: [], tail: 300 }, 4).map((r) => [r.after, r.upTo, r.rows])).toEqual([[null, null, 300]]);
    // One sample, nothing after it: a second range would be empty.
    expect(planFromSample({ step: 1000, keys: keys(1), tail: 0 }, 2).map((r) => r.rows)).toEqual([1000]);
    const three = planFromSample({ step: 1000, keys: keys(2), tail: 500 }, 8);
    expect(three.map((r) => r.rows)).toEqual([1000, 1000, 500]);
    expect(three.map((r) => r.upTo?.[0] ?? null)).toEqual(["1", "2", null]);
  });
});

describe("rangesBetween and rangePredicate", () => {
  it("chains the ranges: each starts right after the one before ends", () => {
    const ranges = rangesBetween(
      [
        ["7", "2024-01-31"],
        ["9", "2023-05-01"],
      ],
      [10, 20, 30],
    );
    expect(ranges.map((r) => [r.after, r.upTo])).toEqual([
      [null, ["7", "2024-01-31"]],
      [
        ["7", "2024-01-31"],
        ["9", "2023-05-01"],
      ],
      [["9", "2023-05-01"], null],
    ]);
    expect(() => rangesBetween([["1"]], [1])).toThrow(/2 row counts/);
  });

  it("renders a range on the whole key: after its start, up to its end; nothing for the whole table", () => {
    const [first, middle, last] = rangesBetween(
      [
        ["7", "2024-01-31"],
        ["9", "2023-05-01"],
      ],
      [1, 1, 1],
    );
    expect(rangePredicate([id, day], { after: null, upTo: null })).toBeUndefined();
    expect(rangePredicate([id, day], first ?? { after: null, upTo: null })?.sql).toBe(
      "`merchant_id` <= ? AND (`merchant_id` < ? OR (`merchant_id` = ? AND `day` <= ?))",
    );
    const between = rangePredicate([id, day], middle ?? { after: null, upTo: null });
    expect(between?.sql).toBe(
      "`merchant_id` >= ? AND (`merchant_id` > ? OR (`merchant_id` = ? AND `day` > ?)) AND `merchant_id` <= ? AND (`merchant_id` < ? OR (`merchant_id` = ? AND `day` <= ?))",
    );
    expect(between?.params).toEqual([7n, 7n, 7n, "2024-01-31", 9n, 9n, 9n, "2023-05-01"]);
    expect(rangePredicate([id, day], last ?? { after: null, upTo: null })?.params).toEqual([9n, 9n, 9n, "2023-05-01"]);
  });
});

describe("rangesLine", () => {
  it("gives each range's MB/s over its reader's time, and the table's over the wall time from the first start to the last end", () => {
    const MB = 1024 * 1024;
    const line = rangesLine([
      { index: 0, rows: 1000, bytes: 10 * MB, read_ms: 2000, started_at: "2026-12-04T00:00:00.000Z", ended_at: "2026-12-04T00:00:02.000Z" },
      { index: 1, rows: 3000, bytes: 30 * MB, read_ms: 4000, started_at: "2026-12-04T00:00:01.000Z", ended_at: "2026-12-04T00:00:05.000Z" },
    ]);
    expect(line).toEqual({
      count: 2,
      read_seconds: 5,
      mb: 40,
      mb_per_s: 8,
      rows_per_s: 800,
      per_range: [
        { range: 0, rows: 1000, mb: 10, mb_per_s: 5 },
        { range: 1, rows: 3000, mb: 30, mb_per_s: 7.5 },
      ],
    });
    expect(rangesLine([{ index: 0, rows: 0, bytes: 0, read_ms: 0, started_at: null, ended_at: null }])).toMatchObject({ mb_per_s: 0, rows_per_s: 0 });
  });
});
