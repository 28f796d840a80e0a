/**
 * The state machine's retry policies, by name, each with the reason it exists. Every step is idempotent (a chunk
 * rewrites its own key and commits conditionally; a load is guarded by its ledger row and ClientToken), so a retry
 * can never duplicate a row: what a policy bounds is only how long a transient fault may delay the run.
 *
 * The product's own retried errors are named by their classes (the name Lambda reports is the error's `name`): a
 * renamed class fails to compile here, a changed name changes the rendered ASL (and its golden file), and neither
 * can silently disable a retry.
 */
import { ActiveStatementsExceededException } from "@aws-sdk/client-redshift-data";
import { SourceUnavailableError } from "#adapters/mysql.ts";
import { RedshiftTimeoutError, WarehouseUnavailableError } from "#adapters/redshift-data.ts";
import { PreconditionFailedError } from "#shared/errors.ts";

/** The `name` an error class's instances carry: what Step Functions matches in ErrorEquals. */
export function errorNameOf(errorClass: new (...args: never[]) => Error): string {
  // Constructed with a service exception's options shape, which the product's own classes accept as a message.
  return (Reflect.construct(errorClass, [{ message: "", $metadata: {} }]) as Error).name;
}
export type Retrier = {
  ErrorEquals: string[];
  IntervalSeconds: number;
  MaxAttempts: number;
  BackoffRate: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: "FULL" | "NONE";
};

/** Lambda's own transient faults (throttling, service errors): the function never ran, or its result was lost. */
export const LAMBDA_SERVICE_ERRORS: Retrier = {
  ErrorEquals: [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
  ],
  IntervalSeconds: 2,
  MaxAttempts: 6,
  BackoffRate: 2,
  MaxDelaySeconds: 60,
  JitterStrategy: "FULL",
};

/**
 * A function that crashed (out of memory, runtime exit) or timed out: nothing after its last commit counted, so
 * one more attempt resumes from the committed cursor. Twice the same crash is a bug or a too-large chunk: stop.
 */
export const FUNCTION_CRASH: Retrier = {
  // A Lambda timeout surfaces as Lambda.Unknown or Sandbox.Timedout (AWS Step Functions error names).
  ErrorEquals: ["Lambda.Unknown", "Sandbox.Timedout", "States.Timeout"],
  IntervalSeconds: 5,
  MaxAttempts: 1,
  BackoffRate: 2,
};

/** MySQL unreachable or dropped the connection (failover, restart, network): replicas come back within minutes. */
export const SOURCE_UNAVAILABLE: Retrier = {
  ErrorEquals: [errorNameOf(SourceUnavailableError)],
  IntervalSeconds: 15,
  MaxAttempts: 4,
  BackoffRate: 2,
  MaxDelaySeconds: 120,
  JitterStrategy: "FULL",
};

/** The watermark changed under five conditional writes in a row (an operator's `mrsync watermark` at that moment). */
export const WATERMARK_CONFLICT: Retrier = {
  ErrorEquals: [errorNameOf(PreconditionFailedError)],
  IntervalSeconds: 2,
  MaxAttempts: 3,
  BackoffRate: 2,
  JitterStrategy: "FULL",
};

/** Redshift's cap on concurrently running Data API statements: a slot frees when another statement ends. */
export const REDSHIFT_BUSY: Retrier = {
  ErrorEquals: [errorNameOf(ActiveStatementsExceededException)],
  IntervalSeconds: 30,
  MaxAttempts: 5,
  BackoffRate: 2,
  MaxDelaySeconds: 300,
  JitterStrategy: "FULL",
};

/**
 * The Data API's 5xx or throttling that outlasted the SDK's attempts (adapters/redshift-data.ts classifies them): the
 * warehouse's front end recovers within minutes, and a load is exactly once whatever retries it (ledger, ClientToken).
 */
export const WAREHOUSE_UNAVAILABLE: Retrier = {
  // RedshiftTimeoutError: a small statement (DDL, a validation count) still running at the function's deadline.
  ErrorEquals: [errorNameOf(WarehouseUnavailableError), errorNameOf(RedshiftTimeoutError)],
  IntervalSeconds: 10,
  MaxAttempts: 4,
  BackoffRate: 2,
  MaxDelaySeconds: 120,
  JitterStrategy: "FULL",
};

/** A child execution (a table continued past the history budget) could not be started: the service's own faults. */
export const START_CHILD_ERRORS: Retrier = {
  ErrorEquals: ["StepFunctions.SdkClientException", "StepFunctions.ServiceException", "StepFunctions.ThrottlingException"],
  IntervalSeconds: 5,
  MaxAttempts: 4,
  BackoffRate: 2,
  JitterStrategy: "FULL",
};
