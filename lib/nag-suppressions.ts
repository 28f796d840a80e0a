import { Stack, Token, Validations, type CfnResource } from "aws-cdk-lib";
import { rangePlansPrefix, COMPLETION_MARKERS_PREFIX } from "#domain/s3-layout.ts";
import type { MysqlRedshiftSync } from "./mysql-redshift-sync.ts";

/**
 * cdk-nag findings acknowledged, each with the reason it is acceptable. cdk-nag v3 acknowledges every wildcard
 * finding by its exact text, so the texts are built from the same config the grants are built from: a new
 * wildcard anywhere else still fails synth.
 */
export function acknowledgeFindings(sync: MysqlRedshiftSync): void {
  const stack = Stack.of(sync);
  const acknowledge = (finding: string, reason: string) => {
    Validations.of(stack).acknowledge({ id: finding, reason });
  };
  const iam5 = (detail: string, reason: string) => {
    acknowledge(`AwsSolutions-IAM5[${detail}]`, reason);
  };
  // cdk-nag prints a pseudo parameter as <AWS::Region> unless the stack's env made it a literal.
  const region = Token.isUnresolved(stack.region) ? "<AWS::Region>" : stack.region;
  const account = Token.isUnresolved(stack.account) ? "<AWS::AccountId>" : stack.account;
  const arnOf = (resource: { node: { defaultChild?: unknown } }) => `<${stack.getLogicalId(resource.node.defaultChild as CfnResource)}.Arn>`;

  acknowledge(
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    "The minimal managed policy for a function's own log stream.",
  );
  acknowledge(
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]",
    "The minimal managed policy for the ENIs of functions in the VPC that reaches MySQL.",
  );
  iam5(
    "Resource::*",
    "Actions without resource-level permissions: X-Ray PutTraceSegments/PutTelemetryRecords, and the Data API's DescribeStatement/GetStatementResult/CancelStatement (the warehouse role's, conditioned on statement-owner-iam-userid = a session of that role).",
  );
  for (const action of ["s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:Abort*"]) {
    iam5(`Action::${action}`, "CDK's read/put grant action groups, limited to the pipeline's isolation prefix; Abort* ends failed multipart uploads.");
  }
  for (const fn of Object.values(sync.functions)) {
    iam5(`Resource::${arnOf(fn)}:*`, "The state machine invokes each step function's versions and aliases (CDK grantInvoke).");
  }
  for (const pipeline of sync.pipelines) {
    const bucket = pipeline.staging.bucket === undefined ? arnOf(sync.staging.bucket) : `arn:<AWS::Partition>:s3:::${pipeline.staging.bucket}`;
    iam5(
      `Resource::${bucket}/${pipeline.s3.isolation_prefix}*`,
      `Pipeline ${pipeline.name}: its data, manifests, schemas and watermarks live under its isolation prefix, with run-specific keys.`,
    );
    iam5(
      `Resource::${bucket}/${rangePlansPrefix(pipeline.s3.isolation_prefix)}*`,
      `Pipeline ${pipeline.name}: the state machine reads the key-range plans Begin writes (its Distributed Map's items), one per run and table.`,
    );
    if (pipeline.completionBucket !== undefined) {
      iam5(
        `Resource::arn:<AWS::Partition>:s3:::${pipeline.completionBucket}/${COMPLETION_MARKERS_PREFIX}*`,
        `Completion markers are written under ${COMPLETION_MARKERS_PREFIX} with run-specific keys.`,
      );
    }
    if (pipeline.target.workgroup_name !== undefined) {
      iam5(
        `Resource::arn:<AWS::Partition>:redshift-serverless:${pipeline.target.region ?? region}:${account}:workgroup/*`,
        "Workgroup ARNs carry a generated id the config cannot know; the account and region are fixed.",
      );
    }
  }
  for (const owned of sync.completionBuckets) {
    iam5(
      `Resource::${arnOf(owned.bucket)}/${COMPLETION_MARKERS_PREFIX}*`,
      `Completion markers are written under ${COMPLETION_MARKERS_PREFIX} with run-specific keys.`,
    );
  }
  for (const secret of sync.secretArns.filter((arn) => arn.endsWith("-??????"))) {
    iam5(
      `Resource::${secret.replace(/^arn:aws:/, "arn:<AWS::Partition>:")}`,
      "A secret named in config without its generated 6-character suffix: exactly one secret matches.",
    );
  }
  iam5(
    `Resource::arn:<AWS::Partition>:states:${region}:${account}:execution:${sync.stateMachineName}:*`,
    "The state machine follows (describes, stops) the child executions it starts of itself; their names are generated.",
  );
}
