/** lambdas/domain/reconcile/range-plan.ts and summary.ts: ranges' summaries add up to the table's; which plans resume. */
import { describe, expect, it } from "vitest";
import { emptySummary, mergedSummary, newPlan, PLAN_RESUME_HOURS, planFingerprint, resumable } from "#domain/reconcile/range-plan.ts";
import { addBuckets, bucketRows } from "#domain/reconcile/summary.ts";
import type { TableColumn } from "#domain/table-schema.ts";

const column = (source: string, sourceType: string) => ({ source, name: source, sourceType }) as unknown as TableColumn;
const ranges = [
  { index: 0, after: null, upTo: ["10"], rows: 10 },
  { index: 1, after: ["10"], upTo: null, rows: 12 },
];
const at = new Date("2026-12-04T10:00:00.000Z");
const plan = newPlan(ranges, { fingerprint: "f", buckets: 67, hash: "crc32c" }, at);

describe("addBuckets", () => {
  it("sums counts and hash sums exactly past 2^53 (as BigInt), bucket by bucket", () => {
    const sum = addBuckets(new Map(), [
      [3, "2", "9007199254740993"],
      [5, "1", "7"],
    ]);
    addBuckets(sum, [[3, "1", "9007199254740993"]]);
    expect(bucketRows(sum)).toEqual([
      [3, "3", "18014398509481986"],
      [5, "1", "7"],
    ]);
  });
});

describe("mergedSummary", () => {
  const read = (index: number, buckets: [number, string, string][], done = true) => ({ ...emptySummary(plan, index), done, buckets });

  it("is the sum of every range's buckets once all are read", () => {
    const merged = mergedSummary(plan, [
      read(0, [[1, "4", "40"]]),
      read(1, [
        [1, "2", "2"],
        [2, "1", "5"],
      ]),
    ]);
    expect(merged === undefined ? undefined : bucketRows(merged)).toEqual([
      [1, "6", "42"],
      [2, "1", "5"],
    ]);
  });

  it("is nothing while a range is unread, begun, or of another plan", () => {
    expect(mergedSummary(plan, [read(0, [])])).toBeUndefined();
    expect(mergedSummary(plan, [read(0, []), read(1, [], false)])).toBeUndefined();
    expect(mergedSummary(plan, [read(0, []), { ...read(1, []), plan: "2026-12-03T00:00:00.000Z" }])).toBeUndefined();
  });
});

describe("resumable", () => {
  const key = [column("id", "int")];
  const compared = [column("id", "int"), column("note", "varchar(10)")];
  const fingerprint = planFingerprint(key, compared, "crc32c");
  const open = { ...plan, fingerprint };

  it("resumes an open plan of the same key, compared columns and hash, made less than PLAN_RESUME_HOURS ago", () => {
    expect(resumable(open, fingerprint, new Date(at.getTime() + 3600_000))).toBe(true);
    expect(resumable(open, fingerprint, new Date(at.getTime() + PLAN_RESUME_HOURS * 3600_000))).toBe(false);
    expect(resumable({ ...open, closed_at: at.toISOString() }, fingerprint, at)).toBe(false);
    expect(resumable(undefined, fingerprint, at)).toBe(false);
  });

  it("a column added, retyped, or another hash is another shape", () => {
    expect(planFingerprint(key, [...compared, column("x", "int")], "crc32c")).not.toBe(fingerprint);
    expect(planFingerprint(key, [column("id", "bigint"), compared[1] as TableColumn], "crc32c")).not.toBe(fingerprint);
    expect(planFingerprint(key, compared, "md5")).not.toBe(fingerprint);
  });
});
