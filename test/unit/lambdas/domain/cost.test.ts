/** lambdas/domain/cost.ts: the estimate's arithmetic — spans, the 60 s minimum, bounded windows, parts that add up, prices. */
import { describe, expect, it } from "vitest";
import { activeSpans, addMeters, estimateCost, MAX_LOAD_WINDOWS, pricingOf, SERVERLESS_MINIMUM_SECONDS } from "#domain/cost.ts";
import { emptyMeter, type Meter } from "#shared/steps.ts";

const meter = (windows: [number, number][], rest: Partial<Meter> = {}): Meter => ({ ...emptyMeter(), loadWindows: windows, ...rest });

describe("the cost estimate", () => {
  it("merges busy windows less than a minute apart into one span, and bills each span at least 60 s", () => {
    expect(
      activeSpans([
        [70_000, 80_000],
        [0, 5_000],
        [30_000, 40_000],
      ]),
    ).toEqual([[0, 80_000]]);
    expect(
      activeSpans([
        [0, 5_000],
        [65_000, 66_000],
      ]),
    ).toEqual([
      [0, 5_000],
      [65_000, 66_000],
    ]);
    // Two 5 s loads 60 s apart: two spans of the minimum; 30 s apart: one span of 35 s, billed 60 s.
    expect(
      estimateCost(
        meter([
          [0, 5_000],
          [65_000, 70_000],
        ]),
        { baseRpu: 8 },
      ).redshift_rpu_seconds,
    ).toBe(8 * 2 * SERVERLESS_MINIMUM_SECONDS);
    expect(
      estimateCost(
        meter([
          [0, 5_000],
          [30_000, 35_000],
        ]),
        { baseRpu: 8 },
      ).redshift_rpu_seconds,
    ).toBe(8 * SERVERLESS_MINIMUM_SECONDS);
    expect(estimateCost(meter([[0, 600_000]]), { baseRpu: 128 }).redshift_rpu_seconds).toBe(128 * 600);
    expect(estimateCost(meter([]), { baseRpu: 128 }).redshift_rpu_seconds).toBe(0);
  });

  it("keeps at most MAX_LOAD_WINDOWS windows, merging the closest (never dropping busy time)", () => {
    const windows = Array.from({ length: 10 }, (_, i): [number, number] => [i * 200_000 + (i % 3) * 10_000, i * 200_000 + (i % 3) * 10_000 + 1_000]);
    const merged = windows.reduce((m, w) => addMeters(m, meter([w])), emptyMeter());
    expect(merged.loadWindows.length).toBe(MAX_LOAD_WINDOWS);
    const covered = (spans: [number, number][], at: number) => spans.some(([start, end]) => start <= at && at <= end);
    for (const [start, end] of windows) expect(covered(merged.loadWindows, start) && covered(merged.loadWindows, end)).toBe(true);
  });

  it("adds meters part by part, and its total is the sum of its rounded parts", () => {
    const sum = addMeters(
      meter([], { transitions: 3, invocations: 1, lambdaGbMs: 1234, s3Writes: 2, s3Reads: 5 }),
      meter([], { transitions: 2, invocations: 2, lambdaGbMs: 1, s3Writes: 1, s3Reads: 0 }),
    );
    expect(sum).toMatchObject({ transitions: 5, invocations: 3, lambdaGbMs: 1235, s3Writes: 3, s3Reads: 5 });
    const cost = estimateCost({ ...sum, loadWindows: [[0, 1_000]] }, { baseRpu: 32 });
    expect(cost.total_usd).toBe(Math.round((cost.step_functions_usd + cost.lambda_usd + cost.redshift_usd + cost.s3_usd) * 1e8) / 1e8);
    expect(cost.s3_requests).toBe(8);
  });

  it("prices from connections.yml replace the list prices; a provisioned cluster adds no per-run compute", () => {
    const used = meter([[0, 90_000]], { transitions: 1000, invocations: 10, lambdaGbMs: 2_000_000, s3Writes: 1000, s3Reads: 1000 });
    expect(estimateCost(used, { baseRpu: 8 })).toMatchObject({ step_functions_usd: 0.025, redshift_rpu_seconds: 720, redshift_usd: 0.075, s3_usd: 0.0054 });
    const discounted = estimateCost(used, { baseRpu: 8, prices: { redshift_rpu_hour_usd: 0.3 } });
    expect(discounted.redshift_usd).toBe(0.06);
    expect(discounted.prices_as_of).toContain("connections.yml");
    expect(estimateCost(used, { baseRpu: undefined })).toMatchObject({ redshift_usd: 0, redshift_rpu_seconds: null });
    expect(pricingOf({ target: { cluster_identifier: "c", database: "d", schema: "public", db_user: "u" }, prices: undefined }).baseRpu).toBeUndefined();
    expect(pricingOf({ target: { workgroup_name: "w", database: "d", schema: "public" }, prices: undefined }).baseRpu).toBe(128);
    expect(pricingOf({ target: { workgroup_name: "w", database: "d", schema: "public", base_rpu: 16 }, prices: { lambda_request_usd: 0 } })).toEqual({
      baseRpu: 16,
      prices: { lambda_request_usd: 0 },
    });
  });
});
