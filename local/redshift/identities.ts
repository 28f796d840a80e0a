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
import { createHash, randomBytes } from "node:crypto";

import { LOCAL_ACCOUNT_ID, LOCAL_WAREHOUSE_ROLE_ARN } from "../endpoints.ts";

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
};

export type IssuedCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date; assumedRoleId: string; arn: string };

const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** An STS request AWS refuses (the error code STS answers with). */
export class StsFailure extends Error {
  readonly code: "ValidationError" | "InvalidClientTokenId" | "ExpiredToken";
  constructor(code: StsFailure["code"], message: string) {
    super(message);
    this.code = code;
  }
}

const roleId = (roleArn: string) => `AROA${createHash("sha256").update(roleArn).digest("hex").slice(0, 17).toUpperCase()}`;

export class LocalIdentities {
  private readonly sessions = new Map<string, { principal: Principal; expires: number }>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
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
    const arn = `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`;
    this.sessions.set(accessKeyId, { principal: { arn, owner: roleArn, databaseUser: `IAMR:${roleName}` }, expires });
    return {
      accessKeyId,
      secretAccessKey: randomBytes(20).toString("base64"),
      sessionToken: randomBytes(32).toString("base64"),
      expiration: new Date(expires),
      assumedRoleId: `${roleId(roleArn)}:${sessionName}`,
      arn,
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
    return { arn, owner: arn, databaseUser: undefined };
  }
}

/** The access key id of a SigV4 `Authorization` header (`… Credential=AKID/date/region/service/aws4_request, …`). */
export function signingAccessKey(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? "")?.[1];
}
