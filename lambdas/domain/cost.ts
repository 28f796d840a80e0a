/**
 * Pure: what a run cost, estimated from what it did. Each step adds what its invocation spent to the table's meter
 * (shared/meter.ts: Lambda GB-milliseconds, S3 requests, the state transitions it and the Choice/Pass states after it
 * took, the load's active window); Finish prices a table's meter, Summarize the run's. Prices are list prices, dated,
 * overridable in connections.yml (`prices:`); a provisioned cluster's compute is billed by the hour, not per run, so
 * its loads add nothing here.
 */
import type { z } from "zod";
import type { ResolvedPipeline } from "#config/resolve.ts";
import type { PricesSchema } from "#config/schema.ts";
import type { CostEstimateSchema, Meter, Pricing } from "#shared/steps.ts";

/** Every price the estimate uses (connections.yml's `prices` may give any of them). */
export type Prices = Required<z.output<typeof PricesSchema>>;

/** When the prices below were read (AWS's pricing pages, us-east-1, on-demand, arm64 Lambda). */
export const PRICES_AS_OF = "2026-12-04";
export const DEFAULT_PRICES = {
  /** Step Functions Standard: $0.025 per 1,000 state transitions. */
  state_transition_usd: 0.000025,
  /** Lambda on arm64: $0.0000133334 per GB-second (the first 6 billion GB-seconds a month). */
  lambda_gb_second_usd: 0.0000133334,
  /** Lambda: $0.20 per million requests. */
  lambda_request_usd: 0.0000002,
  /** S3 Standard: PUT, COPY, POST, LIST (and multipart parts): $0.005 per 1,000. */
  s3_write_request_usd: 0.000005,
  /** S3 Standard: GET, HEAD and the rest: $0.0004 per 1,000. */
  s3_read_request_usd: 0.0000004,
  /** Redshift Serverless: $0.375 per RPU-hour, billed per second with a 60-second minimum. */
  redshift_rpu_hour_usd: 0.375,
} as const satisfies Prices;

/** Redshift Serverless bills at least this many seconds each time the warehouse becomes active. */
export const SERVERLESS_MINIMUM_SECONDS = 60;
/** A workgroup's base capacity when config names none: AWS's default for a new workgroup. */
export const DEFAULT_BASE_RPU = 128;
/**
 * The state transitions of an execution itself: Entry?, Plan, Tables (Map), Summarize, Failed?, Done | SyncFailed. A
 * child execution adds these and its parent's ContinueInChild and ChildResult.
 */
export const EXECUTION_TRANSITIONS = 6;
export const CHILD_EXECUTION_TRANSITIONS = EXECUTION_TRANSITIONS + 2;

/** Load windows (epoch ms) as the warehouse's active spans: sorted, and merged where the gap between two is under the minimum. */
export function activeSpans(windows: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = [...windows].filter(([start, end]) => end >= start).sort((a, b) => a[0] - b[0]);
  const spans: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = spans.at(-1);
    if (last !== undefined && start - last[1] < SERVERLESS_MINIMUM_SECONDS * 1000) last[1] = Math.max(last[1], end);
    else spans.push([start, end]);
  }
  return spans;
}

/**
 * At most this many windows per meter: every table's line carries its meter through the Map (256 KiB for all of
 * them). Beyond, the closest two merge into one (the estimate then bills the gap between them: an overestimate).
 */
export const MAX_LOAD_WINDOWS = 4;

export function addMeters(a: Meter, b: Meter): Meter {
  let windows = activeSpans([...a.loadWindows, ...b.loadWindows]);
  while (windows.length > MAX_LOAD_WINDOWS) {
    let closest = 1;
    for (let i = 2; i < windows.length; i++) {
      if ((windows[i]?.[0] ?? 0) - (windows[i - 1]?.[1] ?? 0) < (windows[closest]?.[0] ?? 0) - (windows[closest - 1]?.[1] ?? 0)) closest = i;
    }
    const merged: [number, number] = [windows[closest - 1]?.[0] ?? 0, windows[closest]?.[1] ?? 0];
    windows = [...windows.slice(0, closest - 1), merged, ...windows.slice(closest + 1)];
  }
  return {
    transitions: a.transitions + b.transitions,
    invocations: a.invocations + b.invocations,
    lambdaGbMs: a.lambdaGbMs + b.lambdaGbMs,
    s3Writes: a.s3Writes + b.s3Writes,
    s3Reads: a.s3Reads + b.s3Reads,
    loadWindows: windows,
  };
}

/** The estimate as the summary, the markers and `mrsync status` show it: each part in USD, and what it counted. */
export type CostEstimate = z.output<typeof CostEstimateSchema>;

/** USD to the hundredth of a micro-dollar: the parts of a small run are fractions of a cent. */
const usd = (value: number) => Math.round(value * 1e8) / 1e8;

/**
 * The estimate for a meter. `baseRpu` undefined: a provisioned cluster (no per-run compute charge). The total is the
 * sum of the rounded parts, so the parts add up exactly.
 */
export function estimateCost(meter: Meter, options: { baseRpu?: number | undefined; prices?: Partial<Prices> | undefined }): CostEstimate {
  const prices: Prices = { ...DEFAULT_PRICES, ...options.prices };
  const gbSeconds = meter.lambdaGbMs / 1000;
  const activeSeconds = activeSpans(meter.loadWindows).reduce((sum, [start, end]) => sum + Math.max(SERVERLESS_MINIMUM_SECONDS, (end - start) / 1000), 0);
  const rpuSeconds = options.baseRpu === undefined ? null : Math.round(options.baseRpu * activeSeconds * 1000) / 1000;
  const parts = {
    step_functions_usd: usd(meter.transitions * prices.state_transition_usd),
    lambda_usd: usd(gbSeconds * prices.lambda_gb_second_usd + meter.invocations * prices.lambda_request_usd),
    redshift_usd: usd(((rpuSeconds ?? 0) / 3600) * prices.redshift_rpu_hour_usd),
    s3_usd: usd(meter.s3Writes * prices.s3_write_request_usd + meter.s3Reads * prices.s3_read_request_usd),
  };
  return {
    total_usd: usd(parts.step_functions_usd + parts.lambda_usd + parts.redshift_usd + parts.s3_usd),
    ...parts,
    state_transitions: meter.transitions,
    lambda_invocations: meter.invocations,
    lambda_gb_seconds: Math.round(gbSeconds * 1000) / 1000,
    redshift_rpu_seconds: rpuSeconds,
    s3_requests: meter.s3Writes + meter.s3Reads,
    prices_as_of: Object.keys(options.prices ?? {}).length === 0 ? PRICES_AS_OF : `${PRICES_AS_OF}, with connections.yml's prices`,
  };
}

/**
 * The state transitions each step's invocation accounts for: itself and the Choice and Pass states that follow it in
 * the definition (statemachines/sync-pipeline.ts) up to the next Task. test/e2e/cost.test.ts checks a run's sum
 * against the states the local runner entered.
 */
export const STEP_TRANSITIONS = {
  /** Begin, LoadInFlight?; then Extracted? (and LoadOrFinish? when nothing is left to read) unless a load is in flight; a child's own execution. */
  begin: (p: { resumed: boolean; loadInFlight: boolean; done: boolean }) =>
    2 + (p.loadInFlight ? 0 : 1 + (p.done ? 1 : 0)) + (p.resumed ? CHILD_EXECUTION_TRANSITIONS : 0),
  /** ExtractChunk, Extracted?, and LoadOrFinish? after the last chunk. */
  extractChunk: (done: boolean) => 2 + (done ? 1 : 0),
  /** SubmitLoad, Submitted?. */
  submitLoad: 2,
  /** AwaitLoad, LoadEnded?, and CountPoll while the load runs. */
  awaitLoad: (ended: boolean) => 2 + (ended ? 0 : 1),
  /** CompleteLoad, MoreToLoad?. */
  completeLoad: 2,
  finish: 1,
  failTable: 1,
  /** A range reader's ExtractRange and RangeRead?, and its RangeEnd after the range's last chunk. */
  extractRange: (done: boolean) => 2 + (done ? 1 : 0),
  /** ReadRanges, and its child execution's Entry?, RangeReaders and RangesRead (the readers count their own). */
  readRanges: 4,
} as const;

/** A pipeline's pricing: its target's base RPU (none for a provisioned cluster) and connections.yml's prices. */
export function pricingOf(pipeline: Pick<ResolvedPipeline, "target" | "prices">): Pricing {
  const serverless = pipeline.target.workgroup_name !== undefined;
  return serverless ? { baseRpu: pipeline.target.base_rpu ?? DEFAULT_BASE_RPU, prices: pipeline.prices ?? {} } : { prices: pipeline.prices ?? {} };
}

/** An execution planned before runs carried their pricing: list prices, the default Serverless capacity. */
export const FALLBACK_PRICING: Pricing = { baseRpu: DEFAULT_BASE_RPU, prices: {} };
