/**
 * What one step invocation spends, for the cost estimate (domain/cost.ts): its duration × memory (GB-ms), and the S3
 * requests it sends (counted per attempt by a middleware on the handlers' S3 client). The step handler runs each
 * invocation in its own scope (AsyncLocalStorage: the local runner runs many in one process at once).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Meter } from "./steps.ts";

type Invocation = { startedAt: number; memoryMb: number; s3Writes: number; s3Reads: number; warehouseStatements: number };
const scope = new AsyncLocalStorage<Invocation>();

/** Runs one step invocation in its own meter scope. */
export function metered<T>(memoryMb: number, run: () => Promise<T>): Promise<T> {
  return scope.run({ startedAt: performance.now(), memoryMb, s3Writes: 0, s3Reads: 0, warehouseStatements: 0 }, run);
}

/**
 * S3 Standard bills GET and HEAD at the read rate and PUT, COPY, POST, LIST (multipart parts included) at the write
 * rate; DELETE is free.
 */
export function countS3Request(command: string): void {
  const invocation = scope.getStore();
  if (invocation === undefined || /^Delete/.test(command)) return;
  if (/^(Get|Head)/.test(command)) invocation.s3Reads++;
  else invocation.s3Writes++;
}

/** A statement sent to Redshift: a Serverless workgroup bills the time it keeps the warehouse active. */
export function countWarehouseStatement(): void {
  const invocation = scope.getStore();
  if (invocation !== undefined) invocation.warehouseStatements++;
}

/** Whether this invocation has sent Redshift any statement so far. */
export const usedWarehouse = (): boolean => (scope.getStore()?.warehouseStatements ?? 0) > 0;

/**
 * What this invocation spent so far, as a meter: one invocation, its GB-ms, its S3 requests, the state transitions
 * given (the step's own and the Choice/Pass states it leads to), and a load's active window when it saw one end.
 */
export function spentHere(transitions: number, loadWindow?: readonly [number, number]): Meter {
  const invocation = scope.getStore();
  const gbMs = invocation === undefined ? 0 : ((performance.now() - invocation.startedAt) * invocation.memoryMb) / 1024;
  return {
    transitions,
    invocations: 1,
    lambdaGbMs: Math.round(gbMs),
    s3Writes: invocation?.s3Writes ?? 0,
    s3Reads: invocation?.s3Reads ?? 0,
    loadWindows: loadWindow === undefined ? [] : [[loadWindow[0], loadWindow[1]]],
  };
}
