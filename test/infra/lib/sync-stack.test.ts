/**
 * The CDK stack on the repo's demo config and on the deployment example (schedule, secrets, VPC): cdk-nag clean,
 * and the properties the platform team and on-call rely on. Bundling is skipped here (`npm run synth` in CI bundles).
 */
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as s3 from "aws-cdk-lib/aws-s3";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "#config/loader.ts";
import { METRICS } from "#shared/metrics.ts";
import { METRICS_NAMESPACE } from "#shared/powertools.ts";
import { LAMBDA_STEPS, SUBSTITUTIONS } from "../../../statemachines/sync-pipeline.ts";
import { SyncStack } from "../../../lib/sync-stack.ts";

const root = path.join(import.meta.dirname, "..", "..", "..");

function appWithNag(): App {
  const app = new App({ outdir: path.join(root, "cdk.out", `test-${String(process.pid)}`), context: { "aws:cdk:bundling-stacks": [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

type Deploy = { operatorRoleArns?: string[]; region?: string };

async function synthesize(configDir: string, ownCompletion = true, createCopyRole = false, deploy: Deploy = {}): Promise<Template> {
  const { pipelines, connections } = await loadConfig(path.resolve(root, configDir), {});
  const app = appWithNag();
  const owned = ownCompletion ? [...new Set(pipelines.flatMap((p) => (p.completionBucket === undefined ? [] : [p.completionBucket])))] : [];
  const stack = new SyncStack(app, "TestSync", {
    pipelines,
    configDir: path.resolve(root, configDir),
    configEnv: {},
    network: connections.network,
    ownedCompletionBuckets: owned,
    createCopyRole,
    ...(deploy.operatorRoleArns === undefined ? {} : { operatorRoleArns: deploy.operatorRoleArns }),
    ...(deploy.region === undefined ? {} : { env: { account: "123456789012", region: deploy.region } }),
  });
  app.synth();
  return Template.fromStack(stack);
}

/** The inline policy statements of the role of one step's function. */
function statementsOf(template: Template, step: string): { Action: string | string[]; Resource: unknown }[] {
  const functions = template.findResources("AWS::Lambda::Function");
  const logicalId = Object.keys(functions).find((id) => id.startsWith(`Sync${step}Function`)) ?? "";
  const roleId = (functions[logicalId]?.Properties as { Role: { "Fn::GetAtt": string[] } }).Role["Fn::GetAtt"][0] ?? "";
  const policies = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
    JSON.stringify((p.Properties as { Roles: unknown }).Roles).includes(roleId),
  );
  return policies.flatMap(
    (p) => (p.Properties as { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } }).PolicyDocument.Statement,
  );
}
const actionsOf = (template: Template, step: string) => statementsOf(template, step).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

describe("SyncStack on the demo config", () => {
  let template: Template;
  beforeAll(async () => {
    template = await synthesize("config");
  });

  it("runs every step on Node 24 arm64 with tracing, JSON logs and the bundled config", () => {
    // The tenth function is CDK's own bucket-notifications handler.
    const steps = Object.values(template.findResources("AWS::Lambda::Function")).filter((f) => (f.Properties as { Runtime: string }).Runtime === "nodejs24.x");
    expect(steps).toHaveLength(LAMBDA_STEPS.length);
    for (const step of steps) {
      expect(step.Properties).toMatchObject({
        Architectures: ["arm64"],
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogFormat: "JSON" },
        Environment: { Variables: { MRSYNC_CONFIG_DIR: "/var/task/config", NODE_OPTIONS: expect.stringContaining("--max-semi-space-size=16") as unknown } },
      });
    }
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
  });

  it("deploys the ASL file with every substitution bound to a function", () => {
    const [machine] = Object.values(template.findResources("AWS::StepFunctions::StateMachine"));
    const properties = machine?.Properties as {
      DefinitionSubstitutions: Record<string, unknown>;
      TracingConfiguration: unknown;
      LoggingConfiguration: { Level: string };
    };
    expect(Object.keys(properties.DefinitionSubstitutions).sort()).toEqual([...SUBSTITUTIONS].sort());
    expect(properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(properties.LoggingConfiguration.Level).toBe("ALL");
  });

  it("grants each step only what it touches", () => {
    expect(actionsOf(template, "Plan").filter((a) => !a.startsWith("xray:"))).toEqual([]);
    expect(actionsOf(template, "ExtractChunk").some((a) => a.startsWith("redshift"))).toBe(false);
    expect(actionsOf(template, "ExtractChunk").some((a) => a.startsWith("s3:Delete"))).toBe(false);
    // The functions that talk to Redshift do so only as the warehouse role (whose trust policy names them): none has a
    // Data API action of its own, nor an sts:AssumeRole grant IAM does not need within one account.
    for (const step of ["SubmitLoad", "CompleteLoad", "Finish"]) {
      expect(actionsOf(template, step).some((a) => a.startsWith("redshift") || a === "sts:AssumeRole")).toBe(false);
    }
    expect(actionsOf(template, "Finish")).toContain("s3:PutObject");
    expect(actionsOf(template, "Begin").some((a) => a.startsWith("redshift") || a === "sts:AssumeRole")).toBe(false);
  });

  it("makes every Data API call as one warehouse role, which the Redshift steps assume and the state machine does not", () => {
    const roles = template.findResources("AWS::IAM::Role");
    const [warehouseId, warehouse] = Object.entries(roles).find(([id]) => id.startsWith("SyncWarehouseRole")) ?? [];
    const policies = Object.values(template.findResources("AWS::IAM::Policy")).filter((p) =>
      JSON.stringify((p.Properties as { Roles: unknown }).Roles).includes(warehouseId ?? "?"),
    );
    const statements = policies.flatMap(
      (p) => (p.Properties as { PolicyDocument: { Statement: { Action: string | string[]; Condition?: unknown }[] } }).PolicyDocument.Statement,
    );
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions).toEqual(
      expect.arrayContaining(["redshift-data:BatchExecuteStatement", "redshift-data:DescribeStatement", "redshift-serverless:GetCredentials"]),
    );
    // Any session of the role (each function has its own) may act on the role's statements.
    const describe = statements.find((s) => JSON.stringify(s.Action).includes("DescribeStatement"));
    expect(JSON.stringify(describe?.Condition)).toContain("StringLike");
    expect(JSON.stringify(describe?.Condition)).toContain(":*");
    const trusted = JSON.stringify((warehouse?.Properties as { AssumeRolePolicyDocument: unknown }).AssumeRolePolicyDocument);
    for (const step of ["SubmitLoad", "AwaitLoad", "CompleteLoad", "Finish"]) expect(trusted).toContain(`Sync${step}FunctionServiceRole`);
    // AwaitLoad polls: the state machine calls no Data API and may not assume the role.
    expect(trusted).not.toContain("SyncStateMachineRole");
    template.hasOutput("WarehouseDatabaseUser", Match.anyValue());
  });

  it("keeps the staging bucket private, TLS-only, evented, staged files moving to IA (never expired)", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      VersioningConfiguration: { Status: "Enabled" },
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
      BucketEncryption: Match.anyValue(),
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: "staging/" }),
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]),
      }),
    });
    template.resourcePropertiesCountIs("Custom::S3BucketNotifications", { NotificationConfiguration: { EventBridgeConfiguration: {} } }, 2);
  });

  it("owns the completion bucket with the marker lifecycle (IA 30, Glacier 90, gone at 365)", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketName: "mrsync-local-completion",
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Prefix: "completion_markers/",
            ExpirationInDays: 365,
            Transitions: [
              { StorageClass: "STANDARD_IA", TransitionInDays: 30 },
              { StorageClass: "GLACIER", TransitionInDays: 90 },
            ],
          }),
        ],
      },
    });
  });

  it("alarms on failed and timed-out executions to an encrypted topic, and has a dashboard", () => {
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties as { MetricName: string; AlarmActions: unknown[] });
    expect(alarms.map((a) => a.MetricName).sort()).toEqual(["ExecutionsFailed", "ExecutionsTimedOut"]);
    for (const alarm of alarms) expect(alarm.AlarmActions).toHaveLength(1);
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    const dashboard = JSON.stringify(template.findResources("AWS::CloudWatch::Dashboard"));
    expect(dashboard).toContain('Pipeline=\\\\\\"demo\\\\\\"');
    // The runs' estimated cost, from the metric Summarize emits per pipeline (no Table dimension).
    expect(dashboard).toContain("demo: estimated cost (USD)");
    expect(dashboard).toContain(`{${METRICS_NAMESPACE},Pipeline,service} MetricName=\\\\\\"${METRICS.RunCostUsd}\\\\\\"`);
  });
});

describe("SyncStack on the deployment example", () => {
  it("creates the VPC endpoints private subnets need (S3 gateway; Secrets Manager, Data API, STS interfaces open to the functions)", async () => {
    const template = await synthesize("config/examples", false);
    const endpoints = Object.values(template.findResources("AWS::EC2::VPCEndpoint")).map(
      (e) => e.Properties as { ServiceName: unknown; VpcEndpointType: string; RouteTableIds?: string[]; PrivateDnsEnabled?: boolean },
    );
    const services = endpoints.map((e) => `${JSON.stringify(e.ServiceName).replace(/.*\.(\w[\w-]*)\W*$/, "$1")}:${e.VpcEndpointType}`).sort();
    expect(services).toEqual(["redshift-data:Interface", "s3:Gateway", "secretsmanager:Interface", "sts:Interface"]);
    expect(endpoints.find((e) => e.VpcEndpointType === "Gateway")?.RouteTableIds).toEqual(["rtb-0a1b2c3d4e5f60718", "rtb-0f1e2d3c4b5a69788"]);
    expect(endpoints.filter((e) => e.VpcEndpointType === "Interface").every((e) => e.PrivateDnsEnabled === true)).toBe(true);
    template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      SecurityGroupIngress: [Match.objectLike({ FromPort: 443, ToPort: 443, SourceSecurityGroupId: "sg-0a1b2c3d4e5f60718" })],
    });
  });

  it("refuses to create a COPY role no target would use (each names its copy_role_arn)", async () => {
    await expect(synthesize("config/examples", false, true)).rejects.toThrow(/every pipeline's target names its own copy_role_arn/);
  });

  it("creates the COPY role on request: trusted by Redshift, read-only on the staged prefixes, given to the load steps", async () => {
    // The demo config without its copy_role_arn: the loads use the created role.
    const dir = await mkdtemp(path.join(tmpdir(), "mrsync-copy-role-"));
    await cp(path.join(root, "config"), dir, { recursive: true });
    const connections = path.join(dir, "connections.yml");
    await writeFile(connections, (await readFile(connections, "utf8")).replace(/^\s*copy_role_arn:.*$/m, ""));
    const template = await synthesize(dir, true, true);
    const roles = Object.entries(template.findResources("AWS::IAM::Role"));
    const [copyId, copy] = roles.find(([id]) => id.startsWith("SyncCopyRole")) ?? [];
    expect(JSON.stringify(copy?.Properties)).toContain("redshift-serverless.amazonaws.com");
    const policy = Object.values(template.findResources("AWS::IAM::Policy")).find((p) =>
      JSON.stringify((p.Properties as { Roles: unknown }).Roles).includes(copyId ?? "?"),
    );
    const actions = JSON.stringify(policy?.Properties);
    expect(actions).toContain("s3:GetObject");
    expect(actions).not.toMatch(/s3:(Put|Delete)/);
    template.hasOutput("CopyRoleArn", Match.anyValue());
    const submit = Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) => id.startsWith("SyncSubmitLoadFunction"))?.[1];
    expect(JSON.stringify(submit?.Properties)).toContain("MRSYNC_COPY_ROLE_ARN");
  });

  it("schedules the pipeline, reads its secret, and places the MySQL-facing functions in the VPC", async () => {
    const template = await synthesize("config/examples", false);
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(0 2 * * ? *)",
      Target: Match.objectLike({ Input: JSON.stringify({ pipeline: "us_dw_hybrid_v1_2" }) }),
    });
    // reconcile_schedule: the same machine in mode reconcile.
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(0 4 ? * SUN *)",
      Target: Match.objectLike({ Input: JSON.stringify({ pipeline: "us_dw_hybrid_v1_2", mode: "reconcile" }) }),
    });
    expect(actionsOf(template, "Begin")).toContain("secretsmanager:GetSecretValue");
    // The secret's customer-managed key: kms:Decrypt through Secrets Manager only, for the functions that read it.
    const decrypt = statementsOf(template, "Begin").find((s) => s.Action === "kms:Decrypt") as { Resource: unknown; Condition?: unknown } | undefined;
    expect(decrypt?.Resource).toBe("arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    expect(JSON.stringify(decrypt?.Condition)).toContain("kms:ViaService");
    expect(actionsOf(template, "SubmitLoad")).not.toContain("kms:Decrypt");
    expect(actionsOf(template, "SubmitLoad")).not.toContain("secretsmanager:GetSecretValue");
    const functions = Object.entries(template.findResources("AWS::Lambda::Function"));
    const inVpc = functions
      .filter(([, f]) => (f.Properties as { VpcConfig?: unknown }).VpcConfig !== undefined)
      .map(([id]) => id.replace(/Function.*$/, "").replace(/^Sync/, ""));
    expect(inVpc.sort()).toEqual(["Begin", "ExtractChunk", "Finish"]);
    expect(template.findResources("AWS::S3::Bucket", { Properties: { BucketName: "airflow-completion-markers" } })).toEqual({});
    // Its staging is the stack's bucket: staged files move to Standard-IA, never expire.
    template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: "us_dw_hybrid/incremental/", Transitions: [{ StorageClass: "STANDARD_IA", TransitionInDays: 30 }] }),
        ]),
      },
    });
  });

  it("puts the operators named at synth (-c mrsync:operatorRoleArns) in the warehouse role's trust policy, and refuses a malformed one", async () => {
    const ops = "arn:aws:iam::123456789012:role/ops";
    const template = await synthesize("config", true, false, { operatorRoleArns: [ops] });
    const [, warehouse] = Object.entries(template.findResources("AWS::IAM::Role")).find(([id]) => id.startsWith("SyncWarehouseRole")) ?? [];
    const trust = (warehouse?.Properties as { AssumeRolePolicyDocument: { Statement: { Sid?: string; Principal: unknown }[] } }).AssumeRolePolicyDocument;
    expect(trust.Statement.find((s) => s.Sid === "Operators")?.Principal).toEqual({ AWS: ops });
    await expect(synthesize("config", true, false, { operatorRoleArns: ["ops"] })).rejects.toThrow(/mrsync:operatorRoleArns: ops is not an IAM role ARN/);
  });

  it("refuses at synth a target in another Region than the stack's, naming the file and key", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mrsync-region-"));
    await cp(path.join(root, "config"), dir, { recursive: true });
    const connections = await readFile(path.join(dir, "connections.yml"), "utf8");
    await writeFile(path.join(dir, "connections.yml"), connections.replace(/(targets:\n\s+\w+:\n)/, "$1    region: eu-west-1\n"));
    await expect(synthesize(dir, true, false, { region: "us-east-1" })).rejects.toThrow(
      /connections\.yml: targets\.\w+\.region: eu-west-1 is not the stack's Region \(us-east-1\)/,
    );
    // Deployed to that Region, it synthesizes.
    await expect(synthesize(dir, true, false, { region: "eu-west-1" })).resolves.toBeDefined();
  });

  it("names no partition in the ASL: the service integrations take the stack's (aws-cn, aws-us-gov)", async () => {
    const asl = await readFile(path.join(root, "statemachines", "sync-pipeline.asl.json"), "utf8");
    expect(asl).not.toMatch(/arn:aws:/);
    const template = await synthesize("config");
    const machine = Object.values(template.findResources("AWS::StepFunctions::StateMachine"))[0];
    expect((machine?.Properties as { DefinitionSubstitutions: Record<string, unknown> }).DefinitionSubstitutions.Partition).toEqual({ Ref: "AWS::Partition" });
  });

  it("fails synth when cdk-nag finds an unacknowledged problem (the check can fail)", () => {
    const app = appWithNag();
    const stack = new Stack(app, "Careless");
    new s3.Bucket(stack, "Open", { enforceSSL: false });
    expect(() => app.synth()).toThrow(/S3 Bucket has server access logs disabled/);
  });
});
