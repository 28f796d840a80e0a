/**
 * Who is calling, as AWS sees it: the access key in a request's SigV4 signature names an IAM identity, and that
 * identity decides which Data API statements the caller may see and which database user its SQL runs as.
 *
 * - Statement ownership (Management Guide, "Considerations when calling the Amazon Redshift Data API"): only the
 *   identity that ran a statement — the same IAM role, whatever the session — may describe it, read its results,
 *   cancel it or list it.
 * - Database user (Serverless, temporary credentials): an assumed role's SQL runs as `IAMR:<role name>`, an IAM user's
 *   as `IAM:<user name>`, each a user of its own that owns what it creates.
 *
 * Locally, a plain access key (not issued by AssumeRole) is an administrator's: its SQL runs as the engine's own
 * (super)user, as a DBA's would, so tests can arrange and inspect anything. Keys issued by the local AssumeRole are
 * the deployed functions' identities and get only what the database grants their user.
 */
import { randomBytes } from "node:crypto";

import { LOCAL_ACCOUNT_ID, LOCAL_WAREHOUSE_ROLE_ARN, localFunctionName, localRoleId } from "../endpoints.ts";
import { AccessDenied, type StackAuthorizer } from "../iam/authorizer.ts";
import { STATES_IDENTITY } from "../iam/runtime.ts";

export { LOCAL_ACCOUNT_ID, LOCAL_WAREHOUSE_ROLE_ARN };
/** How long an issued session lasts (AssumeRole's default DurationSeconds). */
export const SESSION_SECONDS = 3600;

export type Principal = {
  /** arn:aws:iam::…:user/<name> or arn:aws:sts::…:assumed-role/<role>/<session> */
  arn: string;
  /** What statements are owned by: the IAM user, or the role (any of its sessions). */
  owner: string;
  /** The database user its SQL runs as; undefined: the engine's own user (an administrator). */
  databaseUser: string | undefined;
  /** The role a session is of (undefined: an IAM user). */
  roleArn: string | undefined;
  /** aws:userid: `<role id>:<session name>` for a session, the user's name otherwise. */
  userId: string;
  /**
   * The service identity holding these credentials (the local runner's header, iam/runtime.ts): a function's or the
   * state machine's role. Set when a session the handlers share is used by one of them.
   */
  heldBy?: Principal;
};

export type IssuedCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date; assumedRoleId: string; arn: string };

const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** An STS request AWS refuses (the error code STS answers with). */
export class StsFailure extends Error {
  readonly code: "ValidationError" | "InvalidClientTokenId" | "ExpiredToken" | "AccessDenied";
  constructor(code: StsFailure["code"], message: string) {
    super(message);
    this.code = code;
  }
}

const sessionOf = (roleArn: string, roleName: string, sessionName: string, account = LOCAL_ACCOUNT_ID): Principal => ({
  arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
  owner: roleArn,
  databaseUser: `IAMR:${roleName}`,
  roleArn,
  userId: `${localRoleId(roleArn)}:${sessionName}`,
});

export class LocalIdentities {
  private readonly sessions = new Map<string, { principal: Principal; expires: number }>();
  private readonly now: () => number;
  /**
   * The deployed stack's IAM (iam/stack-iam.ts), when the stand-ins enforce it: every call is then allowed or denied
   * as IAM would, trust policies included. Without it nothing is evaluated (stand-ins used on their own).
   */
  iam: StackAuthorizer | undefined;

  constructor(now: () => number = Date.now, iam?: StackAuthorizer) {
    this.now = now;
    this.iam = iam;
  }

  /** Refuses what the stack's IAM does not allow (nothing, when no stack is enforced). */
  async authorize(caller: Principal, action: string, resource: string, context?: Record<string, string | string[]>): Promise<void> {
    if (this.iam === undefined) return;
    // A session the handlers share is used by one of them: that one must be able to assume its role (trust policy and
    // its own sts:AssumeRole), as each function's own sandbox would have had to.
    if (caller.heldBy !== undefined && caller.roleArn !== undefined)
      await this.iam.authorize({ caller: caller.heldBy, action: "sts:AssumeRole", resource: caller.roleArn });
    await this.iam.authorize({ caller, action, resource, ...(context === undefined ? {} : { context }) });
  }

  /** AssumeRole as `caller`: refused unless the role's trust policy (and the caller's own policy) allow it. */
  async assumeRoleAs(caller: Principal, roleArn: string, sessionName: string, durationSeconds = SESSION_SECONDS): Promise<IssuedCredentials> {
    try {
      await this.authorize(caller, "sts:AssumeRole", roleArn);
    } catch (error) {
      if (error instanceof AccessDenied) throw new StsFailure("AccessDenied", error.message);
      throw error;
    }
    return this.assumeRole(roleArn, sessionName, durationSeconds);
  }

  /** AssumeRole: temporary credentials whose calls act as the role (any session of it owns the role's statements). */
  assumeRole(roleArn: string, sessionName: string, durationSeconds = SESSION_SECONDS): IssuedCredentials {
    const role = ROLE_ARN.exec(roleArn);
    if (role === null)
      throw new StsFailure("ValidationError", `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint: a role ARN`);
    if (!SESSION_NAME.test(sessionName)) {
      throw new StsFailure(
        "ValidationError",
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    const [, account = LOCAL_ACCOUNT_ID, roleName = ""] = role;
    const accessKeyId = `ASIA${randomBytes(8).toString("hex").toUpperCase()}`;
    const expires = this.now() + durationSeconds * 1000;
    const principal = sessionOf(roleArn, roleName, sessionName, account);
    this.sessions.set(accessKeyId, { principal, expires });
    return {
      accessKeyId,
      secretAccessKey: randomBytes(20).toString("base64"),
      sessionToken: randomBytes(32).toString("base64"),
      expiration: new Date(expires),
      assumedRoleId: principal.userId,
      arn: principal.arn,
    };
  }

  /** The identity behind an access key; a key AssumeRole did not issue is a long-term (administrator's) key. */
  principal(accessKeyId: string | undefined): Principal {
    if (accessKeyId === undefined) throw new StsFailure("InvalidClientTokenId", "The request is not signed (no Authorization header with a SigV4 Credential)");
    const session = this.sessions.get(accessKeyId);
    if (session !== undefined) {
      if (session.expires <= this.now()) throw new StsFailure("ExpiredToken", "The security token included in the request is expired");
      return session.principal;
    }
    if (accessKeyId.startsWith("ASIA")) throw new StsFailure("InvalidClientTokenId", "The security token included in the request is invalid");
    const arn = `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/${accessKeyId}`;
    return { arn, owner: arn, databaseUser: undefined, roleArn: undefined, userId: accessKeyId };
  }

  /**
   * The caller of a request: the service identity the local runner names (iam/runtime.ts) — a function's role, or the
   * state machine's — holding the signing key's session if that is one, else whoever the key says.
   */
  caller(accessKeyId: string | undefined, serviceIdentity: string | undefined): Principal {
    const signer = this.principal(accessKeyId);
    const service = serviceIdentity === undefined ? undefined : this.servicePrincipal(serviceIdentity);
    if (service === undefined) return signer;
    // Keys a service got from STS (the warehouse role's session) are that session, used by the service.
    return signer.roleArn === undefined ? service : { ...signer, heldBy: service };
  }

  private servicePrincipal(identity: string): Principal | undefined {
    const stack = this.iam?.stack;
    if (stack === undefined) return undefined;
    const module = identity.startsWith("function:") ? identity.slice("function:".length) : undefined;
    const roleArn = identity === STATES_IDENTITY ? stack.stateMachineRoleArn : module === undefined ? undefined : stack.functionRoles[module];
    if (roleArn === undefined) throw new StsFailure("InvalidClientTokenId", `the local runtime names ${identity}, which the stack does not define`);
    const roleName = roleArn.slice(roleArn.lastIndexOf("/") + 1);
    // Lambda names a function's session after the function; Step Functions' sessions carry an id.
    return sessionOf(roleArn, roleName, module === undefined ? "states" : localFunctionName(module));
  }
}

/** The access key id of a SigV4 `Authorization` header (`… Credential=AKID/date/region/service/aws4_request, …`). */
export function signingAccessKey(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? "")?.[1];
}
