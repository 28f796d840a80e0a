/**
 * How the smoke check and reconcile start an execution and see its end: here (the local runner, the same ASL and
 * handlers) or on the deployed state machine (StartExecution, then DescribeExecution until it ends), with the child
 * executions it started (ContinueInChild) counted either way.
 */
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { RunSummary } from "#domain/run-summary.ts";
import { localStateMachine } from "./local-state-machine.ts";
import { executionName, summaryOf } from "./commands/sync.ts";

export type Execution = { name: string; status: string; summary: RunSummary | undefined; error: string | undefined; children: number };
export type Runner = (input: Record<string, unknown>) => Promise<Execution>;

export async function localRunner(): Promise<Runner> {
  const machine = await localStateMachine({ waitMs: 200 });
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

/** Executions this one started: their input names it (AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID). */
async function childrenOf(sfn: SFNClient, stateMachineArn: string, parentArn: string, since: Date): Promise<number> {
  const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100 }));
  let children = 0;
  for (const execution of (listed.executions ?? []).filter((e) => (e.startDate?.getTime() ?? 0) >= since.getTime() && e.executionArn !== parentArn)) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
    if ((described.input ?? "").includes(parentArn)) children++;
  }
  return children;
}

export function deployedRunner(stateMachineArn: string, pollSeconds: number): Runner {
  const sfn = new SFNClient({});
  return async (input) => {
    const name = executionName();
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    const arn = started.executionArn ?? "";
    for (;;) {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      if (execution.status !== "RUNNING" && execution.status !== "PENDING_REDRIVE") {
        const status = execution.status ?? "UNKNOWN";
        const output = execution.output === undefined ? undefined : (JSON.parse(execution.output) as unknown);
        const children = await childrenOf(sfn, stateMachineArn, arn, execution.startDate ?? new Date(0));
        return { name, status, summary: summaryOf(status, output, execution.error, execution.cause), error: execution.error, children };
      }
      await new Promise((resolve) => setTimeout(resolve, pollSeconds * 1000));
    }
  };
}
