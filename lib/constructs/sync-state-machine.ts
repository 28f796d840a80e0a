import path from "node:path";
import { ArnFormat, Aws, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { PARTITION_SUBSTITUTION, substitutionName, type LambdaStep } from "../../statemachines/sync-pipeline.ts";

export const ASL_FILE = path.join(import.meta.dirname, "..", "..", "statemachines", "sync-pipeline.asl.json");

export type SyncStateMachineProps = {
  functions: Record<LambdaStep, lambda.IFunction>;
  stateMachineName: string;
};

/**
 * The state machine from statemachines/sync-pipeline.asl.json (the file the local runner executes), its function
 * ARNs substituted. Its role may invoke the step functions and start and follow child executions of itself (a table
 * continued past the history budget); it calls no other service (AwaitLoad polls the Data API, as the warehouse role).
 */
export class SyncStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: SyncStateMachineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const logGroup = new logs.LogGroup(this, "Logs", { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
    const substitutions = {
      ...Object.fromEntries(Object.entries(props.functions).map(([step, fn]) => [substitutionName(step as LambdaStep), fn.functionArn])),
      [PARTITION_SUBSTITUTION]: Aws.PARTITION,
    };
    this.stateMachine = new sfn.StateMachine(this, "Resource", {
      stateMachineName: props.stateMachineName,
      definitionBody: sfn.DefinitionBody.fromFile(ASL_FILE),
      definitionSubstitutions: substitutions,
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      // Step payloads hold keys and counts, never row data or secrets; ERROR-level would hide the load loop.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    for (const fn of Object.values(props.functions)) fn.grantInvoke(this.stateMachine);

    // ARNs by name: referencing the state machine itself from its own role's policy would be a circular dependency.
    const ownArn = stack.formatArn({
      service: "states",
      resource: "stateMachine",
      resourceName: props.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const ownExecutions = stack.formatArn({
      service: "states",
      resource: "execution",
      resourceName: `${props.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["states:StartExecution"], resources: [ownArn] }));
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ["states:DescribeExecution", "states:StopExecution"], resources: [ownExecutions] }));
    // `.sync:2` follows the child through this managed rule.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resources: [stack.formatArn({ service: "events", resource: "rule", resourceName: "StepFunctionsGetEventsForStepFunctionsExecutionRule" })],
      }),
    );
  }
}
