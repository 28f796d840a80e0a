/**
 * Step Functions, as the operator CLI drives the deployed state machine: start an execution, follow it to its end,
 * list the recent ones, count the children one started, and say whether one is still running. The one module that
 * builds an SFNClient; endpoint, region and credentials come from the environment as for every SDK client.
 */
import { DescribeExecutionCommand, ExecutionDoesNotExist, ListExecutionsCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";

/** An execution as described: its status and, once it ended, its output (parsed JSON) or its error and cause. */
export type ExecutionState = {
  executionArn: string;
  status: string;
  running: boolean;
  output: unknown;
  error: string | undefined;
  cause: string | undefined;
  startDate: Date | undefined;
};

export type ExecutionListed = { name: string; executionArn: string; status: string; startDate: Date | undefined; stopDate: Date | undefined };

/** Statuses before an end: a redrive may still run it. */
const RUNNING = new Set(["RUNNING", "PENDING_REDRIVE"]);

export class StepFunctions {
  private readonly client: SFNClient;

  constructor(client: SFNClient = new SFNClient({})) {
    this.client = client;
  }

  /** Starts an execution named `name` (names are unique per state machine for 90 days); returns its ARN. */
  async start(stateMachineArn: string, name: string, input: unknown): Promise<string> {
    const started = await this.client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return started.executionArn ?? `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${name}`;
  }

  /** The execution's state, or undefined when there is no such execution. */
  async describe(executionArn: string): Promise<ExecutionState | undefined> {
    try {
      const execution = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      const status = execution.status ?? "UNKNOWN";
      return {
        executionArn,
        status,
        running: RUNNING.has(status),
        output: execution.output === undefined ? undefined : (JSON.parse(execution.output) as unknown),
        error: execution.error,
        cause: execution.cause,
        startDate: execution.startDate,
      };
    } catch (error: unknown) {
      if (error instanceof ExecutionDoesNotExist) return undefined;
      throw error;
    }
  }

  /** Looks every `pollSeconds` until the execution ends (told to `onLook` each time it still runs); its end. */
  async waitForEnd(executionArn: string, pollSeconds: number, onLook?: (state: ExecutionState) => void): Promise<ExecutionState> {
    for (;;) {
      const state = await this.describe(executionArn);
      if (state === undefined) throw new Error(`no execution ${executionArn}`);
      if (!state.running) return state;
      onLook?.(state);
      await new Promise((resolve) => setTimeout(resolve, pollSeconds * 1000));
    }
  }

  /** The state machine's most recent executions, newest first. */
  async list(stateMachineArn: string, maxResults: number): Promise<ExecutionListed[]> {
    const listed = await this.client.send(new ListExecutionsCommand({ stateMachineArn, maxResults }));
    return (listed.executions ?? []).map((e) => ({
      name: e.name ?? "",
      executionArn: e.executionArn ?? "",
      status: e.status ?? "",
      startDate: e.startDate,
      stopDate: e.stopDate,
    }));
  }

  /** Executions `parentArn` started since `since`: their input names it (AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID). */
  async childrenOf(stateMachineArn: string, parentArn: string, since: Date): Promise<number> {
    let children = 0;
    for (const execution of (await this.list(stateMachineArn, 100)).filter(
      (e) => (e.startDate?.getTime() ?? 0) >= since.getTime() && e.executionArn !== parentArn,
    )) {
      const described = await this.client.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
      if ((described.input ?? "").includes(parentArn)) children++;
    }
    return children;
  }

  destroy(): void {
    this.client.destroy();
  }
}
