import { Aws, CfnRule, Duration, Fn, Stack, Token, type RemovalPolicy } from "aws-cdk-lib";
import { rangePlansPrefix, COMPLETION_MARKERS_PREFIX, manifestsPrefix, stagedDataPrefix } from "#domain/s3-layout.ts";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import { Construct } from "constructs";
import { WAREHOUSE_ROLE_ENV } from "#adapters/redshift-data.ts";
import { COPY_ROLE_ENV } from "#config/env.ts";
import { targetRegionProblems } from "#config/region.ts";
import type { ResolvedPipeline } from "#config/resolve.ts";
import type { Network, TargetConnection } from "#config/schema.ts";
import { LAMBDA_STEPS, STEPS, type LambdaStep, type StepAccess, type StepSpec } from "../statemachines/steps.ts";
import { snapshotConfig } from "./config-snapshot.ts";
import { Monitoring } from "./constructs/monitoring.ts";
import { CompletionBucket, StagingBucket } from "./constructs/staging-bucket.ts";
import { SyncFunction } from "./constructs/sync-function.ts";
import { SyncStateMachine } from "./constructs/sync-state-machine.ts";

export type MysqlRedshiftSyncProps = {
  /** Pipelines from config/ (loadConfig); validated before synth, so a bad config never deploys. */
  pipelines: readonly ResolvedPipeline[];
  /**
   * The directory `pipelines` were loaded from: bundled into every function (its `${VAR}` resolved now, from the synth
   * environment), so the functions run the config their grants were made for.
   */
  configDir: string;
  /** The environment `pipelines` were loaded with (default: this process's). */
  configEnv?: Readonly<Record<string, string | undefined>>;
  /** connections.yml `network`: the functions' VPC placement (omitted: outside a VPC). */
  network?: Network;
  /** Completion-marker buckets the stack creates (by name); other pipelines' buckets are only written to. */
  ownedCompletionBuckets?: readonly string[];
  stateMachineName?: string;
  removalPolicy?: RemovalPolicy;
  /**
   * Create the role Redshift's COPY reads the staged files with (read-only on the pipelines' prefixes), for targets
   * that name no copy_role_arn; an administrator associates it with the namespace or cluster (README, Deploying).
   */
  createCopyRole?: boolean;
  /**
   * The roles operators use (`-c mrsync:operatorRoleArns=<arn,…>`): the warehouse role trusts them, so `mrsync smoke`,
   * `reconcile` and `connections test` run their warehouse SQL as the database user the functions' tables belong to.
   * A trust policy must name a principal explicitly: an operator it does not name cannot assume the role.
   */
  operatorRoleArns?: readonly string[];
};

/**
 * The product as one reusable construct: staging (and owned completion) buckets, one function per step, the state
 * machine from the ASL file, a schedule per pipeline that has one, alarms and a dashboard. A platform team can
 * embed it in its own app with its own config.
 */
const nativeModulesOf = (step: LambdaStep): string[] | undefined => {
  const spec: StepSpec = STEPS[step];
  return spec.nativeModules === undefined ? undefined : [...spec.nativeModules];
};

export class MysqlRedshiftSync extends Construct {
  readonly staging: StagingBucket;
  readonly completionBuckets: CompletionBucket[];
  readonly functions: Record<LambdaStep, SyncFunction>;
  readonly stateMachine: SyncStateMachine;
  readonly monitoring: Monitoring;
  readonly pipelines: readonly ResolvedPipeline[];
  readonly stateMachineName: string;
  /**
   * The one identity every Data API call is made as: the functions that talk to Redshift assume it (AwaitLoad polls
   * the loads as it). The Data API shows a statement only to the identity that ran it, and on Serverless
   * with IAM auth this role is the database user IAMR:<role name> (`mrsync grants`).
   */
  readonly warehouseRole: iam.Role;
  /** The COPY role (createCopyRole), given to the loads of targets without copy_role_arn. */
  readonly copyRole: iam.Role | undefined;
  /** Every secret ARN granted (config's, with the suffix wildcard where config gives none). */
  readonly secretArns: string[] = [];

  constructor(scope: Construct, id: string, props: MysqlRedshiftSyncProps) {
    super(scope, id);
    const { pipelines } = props;
    this.pipelines = pipelines;
    const stack = Stack.of(this);
    this.refuseOtherRegions(props.configDir, pipelines);
    this.staging = new StagingBucket(this, "Staging", {
      // Only pipelines staging in this bucket (the others name their own).
      stagedPrefixes: [
        ...new Set(
          pipelines
            .filter((p) => p.staging.bucket === undefined)
            .flatMap((p) => [stagedDataPrefix(p.s3.isolation_prefix, p.staging.prefix), manifestsPrefix(p.s3.isolation_prefix)]),
        ),
      ],
      removalPolicy: props.removalPolicy,
    });
    this.completionBuckets = (props.ownedCompletionBuckets ?? []).map(
      (name, i) => new CompletionBucket(this, `Completion${i}`, { bucketName: name, accessLogs: this.staging.accessLogs, removalPolicy: props.removalPolicy }),
    );
    const network = props.network === undefined ? undefined : this.network(props.network);
    const bundledConfig = snapshotConfig(props.configDir, props.configEnv);

    this.functions = Object.fromEntries(
      LAMBDA_STEPS.map((step) => [
        step,
        new SyncFunction(this, `${step}Function`, {
          handler: STEPS[step].handler,
          configDir: bundledConfig,
          timeout: Duration.seconds(STEPS[step].timeoutSeconds),
          memorySize: STEPS[step].memoryMb,
          nativeModules: nativeModulesOf(step),
          network: STEPS[step].access.source ? network : undefined,
          environment: { STAGING_BUCKET: this.staging.bucket.bucketName },
        }),
      ]),
    ) as Record<LambdaStep, SyncFunction>;
    const warehouseSteps = LAMBDA_STEPS.filter((step) => STEPS[step].access.warehouse);
    this.warehouseRole = new iam.Role(this, "WarehouseRole", {
      description: "mysql-redshift-sync: the one identity of every Redshift Data API call (lambdas/adapters/redshift-data.ts)",
      // The functions that talk to Redshift, and nobody else but the operators named at synth.
      assumedBy: new iam.CompositePrincipal(...warehouseSteps.flatMap((step) => this.functions[step].role ?? [])),
      maxSessionDuration: Duration.hours(1),
    });
    for (const target of new Set(pipelines.map((p) => p.target))) this.grantWarehouse(this.warehouseRole, target);
    for (const step of warehouseSteps) this.functions[step].addEnvironment(WAREHOUSE_ROLE_ENV, this.warehouseRole.roleArn);
    for (const step of LAMBDA_STEPS) this.grant(this.functions[step], STEPS[step].access, pipelines);
    this.copyRole = props.createCopyRole === true ? this.createCopyRole(pipelines, warehouseSteps) : undefined;

    this.stateMachineName = props.stateMachineName ?? `${stack.stackName}-sync-pipeline`;
    this.stateMachine = new SyncStateMachine(this, "StateMachine", {
      functions: this.functions,
      stateMachineName: this.stateMachineName,
    });
    // RangeReaders' ItemReader: the state machine reads the key-range plans Begin writes, and nothing else of staging.
    for (const pipeline of pipelines) {
      const bucket =
        pipeline.staging.bucket === undefined ? this.staging.bucket : s3.Bucket.fromBucketName(this, `Plans-${pipeline.name}`, pipeline.staging.bucket);
      bucket.grantRead(this.stateMachine.stateMachine, `${rangePlansPrefix(pipeline.s3.isolation_prefix)}*`);
    }
    const operators = props.operatorRoleArns ?? [];
    const malformed = operators.filter((arn) => !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(arn));
    if (malformed.length > 0)
      throw new Error(`mrsync:operatorRoleArns: ${malformed.join(", ")} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)`);
    if (operators.length > 0) {
      this.warehouseRole.assumeRolePolicy?.addStatements(
        new iam.PolicyStatement({ sid: "Operators", actions: ["sts:AssumeRole"], principals: operators.map((arn) => new iam.ArnPrincipal(arn)) }),
      );
    }
    for (const pipeline of pipelines) {
      const schedules = [
        { id: `Schedule-${pipeline.name}`, expression: pipeline.schedule, input: { pipeline: pipeline.name }, what: "sync" },
        {
          id: `ReconcileSchedule-${pipeline.name}`,
          expression: pipeline.reconcileSchedule,
          input: { pipeline: pipeline.name, mode: "reconcile" },
          what: "reconcile",
        },
      ];
      for (const schedule of schedules.filter((s) => s.expression !== undefined)) {
        new scheduler.Schedule(this, schedule.id, {
          description: `mysql-redshift-sync ${schedule.what}: ${pipeline.name} (${pipeline.file})`,
          schedule: scheduler.ScheduleExpression.expression(schedule.expression ?? ""),
          target: new targets.StepFunctionsStartExecution(this.stateMachine.stateMachine, { input: scheduler.ScheduleTargetInput.fromObject(schedule.input) }),
        });
      }
    }
    this.monitoring = new Monitoring(this, "Monitoring", { stateMachine: this.stateMachine.stateMachine, pipelines: pipelines.map((p) => p.name) });
  }

  /**
   * A target in another Region cannot work (config/region.ts): refused now where the stack's Region is known, and by
   * a template rule at deploy where it is not (an environment-agnostic stack).
   */
  private refuseOtherRegions(configDir: string, pipelines: readonly ResolvedPipeline[]): void {
    const stack = Stack.of(this);
    if (!Token.isUnresolved(stack.region)) {
      const problems = targetRegionProblems(configDir, pipelines, stack.region);
      if (problems.length > 0) throw new Error(problems.map((p) => `${p.file}: ${p.yamlPath}: ${p.problem}`).join("\n"));
      return;
    }
    for (const region of new Set(pipelines.flatMap((p) => (p.target.region === undefined ? [] : [p.target.region])))) {
      new CfnRule(this, `TargetRegion-${region}`, {
        assertions: [
          {
            assert: Fn.conditionEquals(Aws.REGION, region),
            assertDescription: `connections.yml names a target in ${region}: deploy this stack to ${region} (config/region.ts)`,
          },
        ],
      });
    }
  }

  private network(network: Network) {
    const vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", { vpcId: network.vpc_id, availabilityZones: network.availability_zones });
    const securityGroups = network.security_group_ids.map((id, i) => ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, id));
    if (network.vpc_endpoints !== undefined) this.vpcEndpoints(vpc, network, network.vpc_endpoints.route_table_ids, securityGroups);
    return { vpc, subnets: { subnets: network.subnet_ids.map((id, i) => ec2.Subnet.fromSubnetId(this, `Subnet${i}`, id)) }, securityGroups };
  }

  /**
   * What functions in private subnets need to reach without a NAT gateway: S3 (staging, watermarks) through a gateway
   * endpoint on the subnets' route tables; Secrets Manager, the Redshift Data API and STS (the warehouse role) through
   * interface endpoints with private DNS, open on 443 to the functions' security groups.
   */
  private vpcEndpoints(vpc: ec2.IVpc, network: Network, routeTableIds: readonly string[], functionGroups: readonly ec2.ISecurityGroup[]): void {
    const stack = Stack.of(this);
    new ec2.CfnVPCEndpoint(this, "S3Endpoint", {
      vpcId: network.vpc_id,
      serviceName: `com.amazonaws.${stack.region}.s3`,
      vpcEndpointType: "Gateway",
      routeTableIds: [...routeTableIds],
    });
    const endpointGroup = new ec2.SecurityGroup(this, "EndpointSecurityGroup", {
      vpc,
      description: "mysql-redshift-sync: HTTPS from the functions to the interface endpoints",
      allowAllOutbound: false,
    });
    for (const group of functionGroups) endpointGroup.addIngressRule(ec2.Peer.securityGroupId(group.securityGroupId), ec2.Port.tcp(443), "the sync functions");
    for (const [id, service] of [
      ["SecretsManagerEndpoint", "secretsmanager"],
      ["RedshiftDataEndpoint", "redshift-data"],
      ["StsEndpoint", "sts"],
    ] as const) {
      new ec2.CfnVPCEndpoint(this, id, {
        vpcId: network.vpc_id,
        serviceName: `com.amazonaws.${stack.region}.${service}`,
        vpcEndpointType: "Interface",
        subnetIds: [...network.subnet_ids],
        securityGroupIds: [endpointGroup.securityGroupId],
        privateDnsEnabled: true,
      });
    }
  }

  /** Redshift's COPY role: trusted by Redshift (clusters and Serverless), read-only on what the pipelines stage. */
  private createCopyRole(pipelines: readonly ResolvedPipeline[], loadSteps: readonly LambdaStep[]): iam.Role {
    const role = new iam.Role(this, "CopyRole", {
      description: "mysql-redshift-sync: Redshift COPY reads the staged Parquet files and manifests",
      assumedBy: new iam.CompositePrincipal(new iam.ServicePrincipal("redshift.amazonaws.com"), new iam.ServicePrincipal("redshift-serverless.amazonaws.com")),
    });
    const users = pipelines.filter((p) => p.target.copy_role_arn === undefined);
    if (users.length === 0) {
      throw new Error("createCopyRole: every pipeline's target names its own copy_role_arn, so the created role would be unused; drop one or the other");
    }
    for (const pipeline of users) {
      const bucket =
        pipeline.staging.bucket === undefined ? this.staging.bucket : s3.Bucket.fromBucketName(this, `CopyStaging-${pipeline.name}`, pipeline.staging.bucket);
      bucket.grantRead(role, `${pipeline.s3.isolation_prefix}*`);
    }
    for (const step of loadSteps) this.functions[step].addEnvironment(COPY_ROLE_ENV, role.roleArn);
    return role;
  }

  private grant(fn: SyncFunction, access: StepAccess, pipelines: readonly ResolvedPipeline[]): void {
    const stack = Stack.of(this);
    if (access.staging) {
      for (const pipeline of pipelines) {
        const bucket =
          pipeline.staging.bucket === undefined
            ? this.staging.bucket
            : s3.Bucket.fromBucketName(this, `Staging-${pipeline.name}-${fn.node.id}`, pipeline.staging.bucket);
        // Read and write (never delete) under the pipeline's own prefix: data, manifests, schemas, watermarks.
        bucket.grantRead(fn, `${pipeline.s3.isolation_prefix}*`);
        bucket.grantPut(fn, `${pipeline.s3.isolation_prefix}*`);
      }
    }
    if (access.markers) {
      for (const name of new Set(pipelines.flatMap((p) => (p.completionBucket === undefined ? [] : [p.completionBucket])))) {
        fn.addToRolePolicy(
          new iam.PolicyStatement({ actions: ["s3:PutObject"], resources: [`arn:${stack.partition}:s3:::${name}/${COMPLETION_MARKERS_PREFIX}*`] }),
        );
      }
      for (const owned of this.completionBuckets) owned.bucket.grantPut(fn, `${COMPLETION_MARKERS_PREFIX}*`);
    }
    if (access.source) {
      const sourceSecrets = pipelines.flatMap((p) => (p.source.secret === undefined ? [] : [p.source.secret]));
      if (sourceSecrets.length > 0) {
        fn.addToRolePolicy(
          new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [...new Set(sourceSecrets.map((s) => this.secretArn(s)))] }),
        );
      }
      this.grantSecretKeys(
        fn.role,
        pipelines.flatMap((p) => (p.source.secret_kms_key === undefined ? [] : [p.source.secret_kms_key])),
      );
    }
    // access.warehouse: the warehouse role's trust policy names this function's role (above). That is all IAM needs in
    // one account — a trust policy naming the caller's role ARN allows it without a grant in the caller's own policy —
    // and the IAM mutation test (test/e2e/iam.test.ts) finds such a grant unneeded, so there is none.
  }

  /** The warehouse role's own permissions: run statements on the target, and act on the statements it ran. */
  private grantWarehouse(role: iam.Role, target: TargetConnection): void {
    const stack = Stack.of(this);
    const region = target.region ?? stack.region;
    const warehouse =
      target.workgroup_name !== undefined
        ? // Workgroup ARNs carry an id the config does not know: any workgroup of the account and region.
          `arn:${stack.partition}:redshift-serverless:${region}:${stack.account}:workgroup/*`
        : `arn:${stack.partition}:redshift:${region}:${stack.account}:cluster:${target.cluster_identifier ?? ""}`;
    role.addToPolicy(new iam.PolicyStatement({ actions: ["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"], resources: [warehouse] }));
    // Statement-level actions have no resource ARNs; the condition keeps them to statements a session of this role ran
    // (aws:userid is "<role id>:<session name>", and each function and the state machine have sessions of their own).
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"],
        resources: ["*"],
        conditions: { StringLike: { "redshift-data:statement-owner-iam-userid": Fn.join("", [role.roleId, ":*"]) } },
      }),
    );
    if (target.workgroup_name !== undefined) {
      role.addToPolicy(new iam.PolicyStatement({ actions: ["redshift-serverless:GetCredentials"], resources: [warehouse] }));
    } else if (target.db_user !== undefined) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ["redshift:GetClusterCredentials"],
          resources: [
            `arn:${stack.partition}:redshift:${region}:${stack.account}:dbuser:${target.cluster_identifier ?? ""}/${target.db_user}`,
            `arn:${stack.partition}:redshift:${region}:${stack.account}:dbname:${target.cluster_identifier ?? ""}/${target.database}`,
          ],
        }),
      );
    }
    if (target.secret !== undefined) {
      role.addToPolicy(new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [this.secretArn(target.secret)] }));
    }
    this.grantSecretKeys(role, target.secret_kms_key === undefined ? [] : [target.secret_kms_key]);
  }

  /**
   * kms:Decrypt on the customer-managed keys secrets are encrypted with (config `secret_kms_key`), only as Secrets
   * Manager asks for it on the caller's behalf (kms:ViaService): GetSecretValue of such a secret needs it.
   */
  private grantSecretKeys(role: iam.IRole | undefined, keys: readonly string[]): void {
    if (role === undefined || keys.length === 0) return;
    const stack = Stack.of(this);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["kms:Decrypt"],
        resources: [...new Set(keys)],
        conditions: { StringEquals: { "kms:ViaService": `secretsmanager.${stack.region}.${stack.urlSuffix}` } },
      }),
    );
  }

  /** A secret's ARN from config (complete ARN, partial ARN or name): Secrets Manager appends a 6-character suffix. */
  private secretArn(secret: string): string {
    const stack = Stack.of(this);
    const base = secret.startsWith("arn:") ? secret : `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${secret}`;
    const arn = /^arn:.*-[A-Za-z0-9]{6}$/.test(secret) ? secret : `${base}-??????`;
    if (!this.secretArns.includes(arn)) this.secretArns.push(arn);
    return arn;
  }
}
