/**
 * The step registry: every Lambda-backed step of the state machine, written once — the handler module that serves it
 * (lambdas/handlers/<handler>.ts, calling lambdas/services/<handler>.ts), its Lambda timeout (also the Task's
 * TimeoutSeconds) and memory, what its function may touch (least privilege), and the errors Step Functions retries
 * (named retriers tied to the error classes: retry-policies.ts). Read by the ASL builder (sync-pipeline.ts), the CDK
 * construct (lib/mysql-redshift-sync.ts) and the local runner (local/stepfunctions/runner.ts).
 */
import { FUNCTION_CRASH, REDSHIFT_BUSY, SOURCE_UNAVAILABLE, WAREHOUSE_UNAVAILABLE, WATERMARK_CONFLICT, type Retrier } from "./retry-policies.ts";

/** What a step's function may touch. */
export type StepAccess = { staging: boolean; source: boolean; warehouse: boolean; markers: boolean };

export type StepSpec = {
  /** lambdas/handlers/<handler>.ts */
  handler: string;
  /** The Lambda's timeout, and the Task's TimeoutSeconds. */
  timeoutSeconds: number;
  memoryMb: number;
  /** Modules with native code, installed beside the bundle instead of bundled. */
  nativeModules?: readonly string[];
  access: StepAccess;
  /** Retried besides Lambda's own service errors (LAMBDA_SERVICE_ERRORS, every step). */
  retries: readonly Retrier[];
};

/** ExtractChunk may use a Lambda's whole 15 minutes (its chunk stops early, at its deadline); the other steps are short. */
export const EXTRACT_TIMEOUT_SECONDS = 900;
export const STEP_TIMEOUT_SECONDS = 300;
/**
 * AwaitLoad's timeout: it waits for the load until a minute before (DEADLINE_MARGIN_MS), 2 minutes per call, so a
 * long COPY costs one call per 2 minutes instead of a poll loop of four transitions per 15 s.
 */
export const AWAIT_LOAD_TIMEOUT_SECONDS = 180;

const NOTHING: StepAccess = { staging: false, source: false, warehouse: false, markers: false };
/** Retries of a table step: transient MySQL and watermark faults, and one more try after a crash. */
const TABLE_RETRIES = [FUNCTION_CRASH, SOURCE_UNAVAILABLE, WATERMARK_CONFLICT];
/** Steps that also talk to Redshift (load, validation): its transient faults too. */
const WAREHOUSE_RETRIES = [...TABLE_RETRIES, WAREHOUSE_UNAVAILABLE];
const short = { timeoutSeconds: STEP_TIMEOUT_SECONDS, memoryMb: 1024 };

export const STEPS = {
  Plan: { handler: "plan", ...short, access: NOTHING, retries: [] },
  // Begin plans a big table's key ranges: one pass along its key (a cold 1B-row table: ~6 min, docs/benchmarks.md).
  Begin: {
    handler: "begin",
    timeoutSeconds: EXTRACT_TIMEOUT_SECONDS,
    memoryMb: 1024,
    access: { ...NOTHING, staging: true, source: true },
    retries: TABLE_RETRIES,
  },
  ExtractChunk: {
    handler: "extract-chunk",
    timeoutSeconds: EXTRACT_TIMEOUT_SECONDS,
    memoryMb: 2048,
    nativeModules: ["snappy"],
    // Mode reconcile compares with Redshift in ExtractChunk's place.
    access: { ...NOTHING, staging: true, source: true, warehouse: true },
    retries: TABLE_RETRIES,
  },
  SubmitLoad: { handler: "submit-load", ...short, access: { ...NOTHING, staging: true, warehouse: true }, retries: [...WAREHOUSE_RETRIES, REDSHIFT_BUSY] },
  // Waits for the load's statement (long polls) up to its deadline, a minute before its timeout; small: it only waits.
  AwaitLoad: {
    handler: "await-load",
    timeoutSeconds: AWAIT_LOAD_TIMEOUT_SECONDS,
    memoryMb: 256,
    access: { ...NOTHING, warehouse: true },
    retries: [FUNCTION_CRASH, WAREHOUSE_UNAVAILABLE],
  },
  CompleteLoad: { handler: "complete-load", ...short, access: { ...NOTHING, staging: true, warehouse: true }, retries: WAREHOUSE_RETRIES },
  // Finish validates (counts on both sides) and writes the markers (and a reconcile run's report).
  Finish: { handler: "finish", ...short, access: { staging: true, source: true, warehouse: true, markers: true }, retries: WAREHOUSE_RETRIES },
  FailTable: { handler: "fail-table", ...short, access: { ...NOTHING, staging: true }, retries: [FUNCTION_CRASH, WATERMARK_CONFLICT] },
  Summarize: { handler: "summarize", ...short, access: NOTHING, retries: [] },
} as const satisfies Record<string, StepSpec>;

export type LambdaStep = keyof typeof STEPS;
/** The Lambda-backed steps, in the order the stack creates their functions. */
export const LAMBDA_STEPS = Object.keys(STEPS) as LambdaStep[];
/** Each step's function is `${<Step>FunctionArn}` in the definition. */
export const substitutionName = (step: LambdaStep) => `${step}FunctionArn`;
