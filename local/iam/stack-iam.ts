/**
 * The stack's IAM as the local stand-ins enforce it: the roles, their trust and identity policies, and the bucket
 * policies of the template `cdk synth` produces for a config (bundling skipped), with CloudFormation's intrinsics
 * resolved to the local account's names. Read once per config; the stand-ins (authorizer.ts) evaluate every call
 * against it, so a grant missing from lib/ is an AccessDenied here, not on deploy day.
 */
import path from "node:path";
import { LAMBDA_STEPS, STEPS, type LambdaStep } from "../../statemachines/steps.ts";
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, LOCAL_WAREHOUSE_ROLE_ARN, localFunctionArn, localRoleId, LOCAL_STACK_NAME, localFunctionName } from "../endpoints.ts";

export type PolicyDocument = { Version?: string; Statement: PolicyStatement[] };
export type PolicyStatement = Record<string, unknown> & { Effect: "Allow" | "Deny"; Sid?: string };
/** One policy of a role: `trust` (its AssumeRolePolicyDocument) or an identity policy (the AWS::IAM::Policy's id). */
export type NamedPolicy = { name: string; document: PolicyDocument };
export type StackRole = { logicalId: string; name: string; arn: string; roleId: string; trust: PolicyDocument; policies: NamedPolicy[] };

export type StackIam = {
  roles: StackRole[];
  /** Bucket name → its bucket policy. */
  bucketPolicies: Record<string, NamedPolicy>;
  /** Handler module (lambdas/handlers/<module>.ts) → its function's role ARN. */
  functionRoles: Record<string, string>;
  stateMachineRoleArn: string;
  warehouseRoleArn: string;
  stateMachineArn: string;
};

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>; Outputs?: Record<string, { Value: unknown }> };

/** Local names of the roles that have one the rest of the local stack knows (the warehouse role's database user). */
const functionRoleName = (step: LambdaStep) => localFunctionName(STEPS[step].handler);
const WAREHOUSE_ROLE_NAME = LOCAL_WAREHOUSE_ROLE_ARN.slice(LOCAL_WAREHOUSE_ROLE_ARN.lastIndexOf("/") + 1);

/** CloudFormation's intrinsics in a template, as the local account resolves them. */
class Resolver {
  private readonly template: Template;
  private readonly names = new Map<string, string>();

  constructor(template: Template) {
    this.template = template;
  }

  name(logicalId: string, name: string): void {
    this.names.set(logicalId, name);
  }

  private resource(logicalId: string) {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) throw new Error(`the template names resource ${logicalId}, which it does not define`);
    return resource;
  }

  /** A resource's physical name: the one it was given here, its declared name, or one made from its id. */
  ref(logicalId: string): string {
    if (logicalId === "AWS::Partition") return "aws";
    if (logicalId === "AWS::Region") return LOCAL_REGION;
    if (logicalId === "AWS::AccountId") return LOCAL_ACCOUNT_ID;
    if (logicalId === "AWS::URLSuffix") return "amazonaws.com";
    const given = this.names.get(logicalId);
    if (given !== undefined) return given;
    const resource = this.resource(logicalId);
    const declared = resource.Properties?.BucketName ?? resource.Properties?.RoleName ?? resource.Properties?.StateMachineName;
    if (typeof declared === "string") return declared;
    if (resource.Type === "AWS::StepFunctions::StateMachine") return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stateMachine:${logicalId}`;
    return `${LOCAL_STACK_NAME}-${logicalId.toLowerCase()}`;
  }

  attribute(logicalId: string, attribute: string): string {
    const resource = this.resource(logicalId);
    const name = this.ref(logicalId);
    switch (`${resource.Type}.${attribute}`) {
      case "AWS::IAM::Role.Arn":
        return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${name}`;
      case "AWS::IAM::Role.RoleId":
        return localRoleId(`arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${name}`);
      case "AWS::S3::Bucket.Arn":
        return `arn:aws:s3:::${name}`;
      case "AWS::Lambda::Function.Arn":
        return name.startsWith("arn:") ? name : localFunctionArn(name);
      case "AWS::KMS::Key.Arn":
        return `arn:aws:kms:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:key/${name}`;
      default:
        throw new Error(`the local IAM model cannot resolve Fn::GetAtt ${logicalId}.${attribute} (${resource.Type})`);
    }
  }

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== "object") return value;
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [[key, argument]] = entries as [[string, unknown]];
      if (key === "Ref") return this.ref(String(argument));
      if (key === "Fn::GetAtt") {
        const [id, attribute] = Array.isArray(argument) ? (argument as string[]) : String(argument).split(".");
        return this.attribute(String(id), String(attribute));
      }
      if (key === "Fn::Join") {
        const [separator, parts] = argument as [string, unknown[]];
        return parts.map((part) => String(this.resolve(part))).join(separator);
      }
      if (key === "Fn::Sub" || key === "Fn::Select" || key === "Fn::Split" || key === "Fn::If" || key === "Fn::ImportValue")
        throw new Error(`the local IAM model does not resolve ${key}`);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }
}

const getAttId = (value: unknown): string | undefined => {
  const attribute = (value as { "Fn::GetAtt"?: unknown } | undefined)?.["Fn::GetAtt"];
  return Array.isArray(attribute) ? String(attribute[0]) : undefined;
};

/** The stack's IAM from its synthesized template, named as the local runner names the functions and the state machine. */
export function stackIamFromTemplate(template: Template): StackIam {
  const resolver = new Resolver(template);
  const resources = Object.entries(template.Resources);
  const functionRoles: Record<string, string> = {};
  for (const step of LAMBDA_STEPS) {
    const [functionId, fn] = resources.find(([id, r]) => r.Type === "AWS::Lambda::Function" && id.startsWith(`Sync${step}Function`)) ?? [];
    if (functionId === undefined || fn === undefined) throw new Error(`the template has no function for step ${step}`);
    resolver.name(functionId, localFunctionName(STEPS[step].handler));
    const roleId = getAttId(fn.Properties?.Role);
    if (roleId === undefined) throw new Error(`step ${step}'s function has no role of the stack`);
    resolver.name(roleId, functionRoleName(step));
    functionRoles[STEPS[step].handler] = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${functionRoleName(step)}`;
  }
  const [machineId, machine] = resources.find(([, r]) => r.Type === "AWS::StepFunctions::StateMachine") ?? [];
  const machineRoleId = getAttId(machine?.Properties?.RoleArn);
  if (machineId === undefined || machineRoleId === undefined) throw new Error("the template has no state machine with a role of the stack");
  resolver.name(machineRoleId, "mrsync-states");
  const warehouseRoleId = getAttId(template.Outputs?.WarehouseRoleArn?.Value);
  if (warehouseRoleId === undefined) throw new Error("the template has no WarehouseRoleArn output");
  resolver.name(warehouseRoleId, WAREHOUSE_ROLE_NAME);
  const stateMachineArn = String(
    resolver.resolve({ "Fn::Join": ["", ["arn:aws:states:", LOCAL_REGION, ":", LOCAL_ACCOUNT_ID, ":stateMachine:", { Ref: machineId }]] }),
  );
  resolver.name(machineId, stateMachineArn);

  const roles: StackRole[] = resources
    .filter(([, r]) => r.Type === "AWS::IAM::Role")
    .map(([logicalId, r]) => {
      const name = resolver.ref(logicalId);
      const arn = resolver.attribute(logicalId, "Arn");
      const policies: NamedPolicy[] = resources
        .filter(([, p]) => p.Type === "AWS::IAM::Policy" && JSON.stringify(p.Properties?.Roles ?? []).includes(`"${logicalId}"`))
        .map(([policyId, p]) => ({ name: policyId, document: resolver.resolve(p.Properties?.PolicyDocument) as PolicyDocument }));
      for (const [index, inline] of ((r.Properties?.Policies as { PolicyName: string; PolicyDocument: unknown }[] | undefined) ?? []).entries()) {
        policies.push({ name: `${logicalId}.Policies[${String(index)}]`, document: resolver.resolve(inline.PolicyDocument) as PolicyDocument });
      }
      return { logicalId, name, arn, roleId: localRoleId(arn), trust: resolver.resolve(r.Properties?.AssumeRolePolicyDocument) as PolicyDocument, policies };
    });
  const bucketPolicies: Record<string, NamedPolicy> = {};
  for (const [policyId, p] of resources.filter(([, r]) => r.Type === "AWS::S3::BucketPolicy")) {
    bucketPolicies[String(resolver.resolve(p.Properties?.Bucket))] = {
      name: policyId,
      document: resolver.resolve(p.Properties?.PolicyDocument) as PolicyDocument,
    };
  }
  const roleArn = (id: string) => resolver.attribute(id, "Arn");
  return { roles, bucketPolicies, functionRoles, stateMachineRoleArn: roleArn(machineRoleId), warehouseRoleArn: roleArn(warehouseRoleId), stateMachineArn };
}

export type SynthOptions = {
  /** connections.yml and pipelines/ (what the stack's grants are made for). */
  configDir: string;
  /** The environment the config's `${VAR}`s resolve in (default: this process's). */
  env?: Readonly<Record<string, string | undefined>>;
  /** `-c mrsync:operatorRoleArns`: the operators the warehouse role trusts. */
  operatorRoleArns?: readonly string[];
};

/**
 * `cdk synth` of the repo's stack for a config, in this process with bundling skipped (a few seconds: aws-cdk-lib is
 * a dev dependency, loaded only here), as the local account and region.
 */
export async function synthesizeStackIam(options: SynthOptions): Promise<StackIam> {
  const [{ App }, { loadConfig }, { SyncStack }, { mkdtemp, rm }, { tmpdir }] = await Promise.all([
    import("aws-cdk-lib"),
    import("#config/loader.ts"),
    import("../../lib/sync-stack.ts"),
    import("node:fs/promises"),
    import("node:os"),
  ]);
  const configDir = path.resolve(options.configDir);
  const env = options.env ?? process.env;
  const { pipelines, connections } = await loadConfig(configDir, env);
  const outdir = await mkdtemp(path.join(tmpdir(), "mrsync-iam-synth-"));
  try {
    const app = new App({ outdir, context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new SyncStack(app, LOCAL_STACK_NAME, {
      pipelines,
      configDir,
      configEnv: env,
      network: connections.network,
      ownedCompletionBuckets: [],
      operatorRoleArns: options.operatorRoleArns ?? [],
      env: { account: LOCAL_ACCOUNT_ID, region: LOCAL_REGION },
    });
    return stackIamFromTemplate(app.synth().getStackByName(stack.stackName).template as Template);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}
