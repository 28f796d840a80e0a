/**
 * How the smoke check and reconcile start an execution and see its end: here (the local runner, the same ASL and
 * handlers) or on the deployed state machine (StartExecution, then DescribeExecution until it ends), with the child
 * executions it started (ContinueInChild) counted either way.
 */
import { StepFunctions } from "#adapters/step-functions.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { localStateMachine } from "./local-state-machine.ts";
import { executionName, summaryOf } from "./commands/sync.ts";

export type Execution = { name: string; status: string; summary: RunSummary | undefined; error: string | undefined; children: number };
export type Runner = (input: Record<string, unknown>) => Promise<Execution>;

export async function localRunner(): Promise<Runner> {
  const machine = await localStateMachine();
  return async (input) => {
    const name = executionName();
    const record = await machine.startExecution(input, name);
    return {
      name,
      status: record.status,
      summary: summaryOf(record.status, record.output, record.error, record.cause),
      error: record.error,
      children: record.children.length,
    };
  };
}

export function deployedRunner(stateMachineArn: string, pollSeconds: number): Runner {
  const sfn = new StepFunctions();
  return async (input) => {
    const name = executionName();
    const arn = await sfn.start(stateMachineArn, name, input);
    const end = await sfn.waitForEnd(arn, pollSeconds);
    const children = await sfn.childrenOf(stateMachineArn, arn, end.startDate ?? new Date(0));
    return { name, status: end.status, summary: summaryOf(end.status, end.output, end.error, end.cause), error: end.error, children };
  };
}
