/**
 * The Step Functions adapter (lambdas/adapters/step-functions.ts) against a mocked SFN client (an AWS-only API): start,
 * follow to the end, no such execution, and the children an execution started.
 */
import { DescribeExecutionCommand, ExecutionDoesNotExist, ListExecutionsCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { StepFunctions } from "#adapters/step-functions.ts";

const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:sync";
const execution = (name: string) => `arn:aws:states:us-east-1:123456789012:execution:sync:${name}`;
const sfnMock = mockClient(SFNClient);
afterEach(() => sfnMock.reset());

describe("StepFunctions adapter", () => {
  it("starts an execution and follows it until it ends, with its output parsed", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: execution("run1"), startDate: new Date() });
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: "RUNNING", startDate: new Date() })
      .resolvesOnce({ status: "PENDING_REDRIVE", startDate: new Date() })
      .resolves({ status: "SUCCEEDED", output: '{"status":"success"}', startDate: new Date() });
    const sfn = new StepFunctions(new SFNClient({ region: "us-east-1" }));
    const arn = await sfn.start(MACHINE, "run1", { pipeline: "p" });
    expect(arn).toBe(execution("run1"));
    expect(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input).toMatchObject({ stateMachineArn: MACHINE, name: "run1", input: '{"pipeline":"p"}' });
    const looks: string[] = [];
    const end = await sfn.waitForEnd(arn, 0, (state) => looks.push(state.status));
    expect(looks).toEqual(["RUNNING", "PENDING_REDRIVE"]);
    expect(end).toMatchObject({ status: "SUCCEEDED", running: false, output: { status: "success" } });
  });

  it("says there is no such execution instead of throwing, and counts only the children whose input names the parent", async () => {
    sfnMock.on(DescribeExecutionCommand, { executionArn: execution("gone") }).rejects(new ExecutionDoesNotExist({ message: "no", $metadata: {} }));
    const since = new Date("2026-01-01T00:00:00Z");
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [
        { executionArn: execution("parent"), name: "parent", stateMachineArn: MACHINE, status: "SUCCEEDED", startDate: since },
        { executionArn: execution("child"), name: "child", stateMachineArn: MACHINE, status: "SUCCEEDED", startDate: new Date("2026-01-01T00:01:00Z") },
        { executionArn: execution("other"), name: "other", stateMachineArn: MACHINE, status: "SUCCEEDED", startDate: new Date("2026-01-01T00:02:00Z") },
        { executionArn: execution("older"), name: "older", stateMachineArn: MACHINE, status: "SUCCEEDED", startDate: new Date("2025-12-31T00:00:00Z") },
      ],
    });
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: execution("child") })
      .resolves({ input: JSON.stringify({ AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: execution("parent") }) });
    sfnMock.on(DescribeExecutionCommand, { executionArn: execution("other") }).resolves({ input: "{}" });
    const sfn = new StepFunctions(new SFNClient({ region: "us-east-1" }));
    expect(await sfn.describe(execution("gone"))).toBeUndefined();
    expect(await sfn.childrenOf(MACHINE, execution("parent"), since)).toBe(1);
  });
});
