/**
 * Allow or deny, as IAM would: a request (who, which action, on what, with which condition keys) evaluated against the
 * caller's identity policies and the resource's policy (a bucket policy, a role's trust policy) from the synthesized
 * stack (stack-iam.ts), by @cloud-copilot/iam-simulate (docs/decisions.md: why that library). Identities the stack
 * does not define — an operator's role, an administrator's key — are the account's own: their permissions are not the
 * stack's to grant, so they may do anything the resource's policy does not refuse.
 */
import { runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { LOCAL_ACCOUNT_ID } from "../endpoints.ts";
import type { NamedPolicy, PolicyDocument, StackIam, StackRole } from "./stack-iam.ts";

/** AWS's answer to a request IAM does not allow. */
export class AccessDenied extends Error {
  override readonly name = "AccessDenied";
}

export type Caller = {
  /** arn:aws:sts::…:assumed-role/<role>/<session> or arn:aws:iam::…:user/<name> */
  arn: string;
  /** The role a session is of (undefined: an IAM user). */
  roleArn: string | undefined;
};

export type AuthorizationRequest = {
  caller: Caller;
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
};

/** A request and its answer, kept for the IAM mutation test (which grants decided what). */
export type Decision = AuthorizationRequest & { allowed: boolean };

const ADMINISTRATOR: NamedPolicy = { name: "administrator", document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] } };

/** Which policy a statement is in, and where: what the mutation test drops. */
export type StatementRef = { policy: string; index: number };

export class StackAuthorizer {
  readonly stack: StackIam;
  private readonly roles: Map<string, StackRole>;
  private readonly cache = new Map<string, Promise<boolean>>();
  /** Every request decided (when recording). */
  readonly decisions: Decision[] = [];
  recording = false;

  constructor(stack: StackIam) {
    this.stack = stack;
    this.roles = new Map(stack.roles.map((role) => [role.arn, role]));
  }

  /** The state machine's own session: how Step Functions calls on the execution's behalf (Lambda, child executions). */
  stateMachineCaller(): Caller {
    const roleArn = this.stack.stateMachineRoleArn;
    return { arn: `arn:aws:sts::${LOCAL_ACCOUNT_ID}:assumed-role/${roleArn.slice(roleArn.lastIndexOf("/") + 1)}/states`, roleArn };
  }

  role(roleArn: string): StackRole | undefined {
    return this.roles.get(roleArn);
  }

  /** The same stack with one statement removed (the mutation test). */
  without(drop: StatementRef): StackAuthorizer {
    const prune = (policy: NamedPolicy): NamedPolicy =>
      policy.name === drop.policy
        ? { name: policy.name, document: { ...policy.document, Statement: policy.document.Statement.filter((_, i) => i !== drop.index) } }
        : policy;
    return new StackAuthorizer({
      ...this.stack,
      roles: this.stack.roles.map((role) => ({
        ...role,
        trust: prune({ name: `${role.logicalId}.trust`, document: role.trust }).document,
        policies: role.policies.map(prune),
      })),
      bucketPolicies: Object.fromEntries(Object.entries(this.stack.bucketPolicies).map(([bucket, policy]) => [bucket, prune(policy)])),
    });
  }

  /** Every statement of the stack's policies, trust policies included (`<role logical id>.trust`). */
  statements(): (StatementRef & { statement: PolicyDocument["Statement"][number] })[] {
    const all: (NamedPolicy & { kind: string })[] = [
      ...this.stack.roles.flatMap((role) => [
        { name: `${role.logicalId}.trust`, document: role.trust, kind: "trust" },
        ...role.policies.map((p) => ({ ...p, kind: "identity" })),
      ]),
      ...Object.values(this.stack.bucketPolicies).map((p) => ({ ...p, kind: "bucket" })),
    ];
    return all.flatMap((policy) => policy.document.Statement.map((statement, index) => ({ policy: policy.name, index, statement })));
  }

  private identityPolicies(caller: Caller): NamedPolicy[] {
    const role = caller.roleArn === undefined ? undefined : this.roles.get(caller.roleArn);
    return role === undefined ? [ADMINISTRATOR] : role.policies;
  }

  private resourcePolicy(action: string, resource: string): PolicyDocument | undefined {
    if (action === "sts:AssumeRole") return this.roles.get(resource)?.trust;
    if (action.startsWith("s3:")) return this.stack.bucketPolicies[/^arn:aws:s3:::([^/]+)/.exec(resource)?.[1] ?? ""]?.document;
    return undefined;
  }

  /** Whether IAM allows the request. */
  async allows(request: AuthorizationRequest): Promise<boolean> {
    const { caller, action, resource, context = {} } = request;
    // A role outside the stack (an operator's) trusts whom its owner says: the account's own identities, here.
    if (action === "sts:AssumeRole" && !this.roles.has(resource)) return true;
    const key = JSON.stringify([caller.arn, action, resource, context]);
    let answer = this.cache.get(key);
    if (answer === undefined) {
      answer = this.evaluate(caller, action, resource, context);
      this.cache.set(key, answer);
    }
    const allowed = await answer;
    if (this.recording) this.decisions.push({ ...request, allowed });
    return allowed;
  }

  private async evaluate(caller: Caller, action: string, resource: string, context: Record<string, string | string[]>): Promise<boolean> {
    const resourcePolicy = this.resourcePolicy(action, resource);
    const simulation: Simulation = {
      request: { principal: caller.arn, action, resource: { resource, accountId: LOCAL_ACCOUNT_ID }, contextVariables: context },
      identityPolicies: this.identityPolicies(caller).map((p) => ({ name: p.name, policy: p.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
    };
    const result = await runSimulation(simulation, {});
    if (result.resultType === "error") throw new Error(`the local IAM model cannot evaluate ${action} on ${resource}: ${JSON.stringify(result.errors)}`);
    return result.overallResult === "Allowed";
  }

  /** Refuses, as AWS words it, a request IAM does not allow. */
  async authorize(request: AuthorizationRequest): Promise<void> {
    if (await this.allows(request)) return;
    const policy = this.resourcePolicy(request.action, request.resource);
    throw new AccessDenied(
      `User: ${request.caller.arn} is not authorized to perform: ${request.action} on resource: ${request.resource}` +
        (request.action === "sts:AssumeRole"
          ? " (the role's trust policy does not name it)"
          : policy === undefined
            ? " because no identity-based policy allows the action"
            : ""),
    );
  }
}
