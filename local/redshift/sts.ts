/**
 * STS's AssumeRole (AWS Query protocol: a form-encoded POST, an XML answer), served next to the local Data API so the
 * production credential provider (`fromTemporaryCredentials`, pointed here by AWS_ENDPOINT_URL_STS) gets keys the
 * Data API knows as the role. Where the stack's IAM is enforced (identities.iam), the role's trust policy and the
 * caller's own policy decide, as on AWS: a caller the trust policy does not name is refused (AccessDenied).
 */
import { randomUUID } from "node:crypto";
import { StsFailure, type LocalIdentities } from "./identities.ts";

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export type StsAnswer = { status: number; body: string };

function failure(code: string, message: string): StsAnswer {
  return {
    status: code === "ValidationError" ? 400 : 403,
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

export async function answerSts(
  identities: LocalIdentities,
  callerAccessKey: string | undefined,
  serviceIdentity: string | undefined,
  form: URLSearchParams,
): Promise<StsAnswer> {
  try {
    // The caller must be someone: an unsigned or expired request is refused before the action.
    const caller = identities.caller(callerAccessKey, serviceIdentity);
    const action = form.get("Action");
    if (action !== "AssumeRole")
      return failure("InvalidAction", `Could not find operation ${action ?? "(none)"} for version 2011-06-15 (the local STS answers AssumeRole only)`);
    const duration = form.get("DurationSeconds");
    const issued = await identities.assumeRoleAs(
      caller,
      form.get("RoleArn") ?? "",
      form.get("RoleSessionName") ?? "",
      duration === null ? undefined : Number(duration),
    );
    return {
      status: 200,
      body:
        `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
        `<Credentials><AccessKeyId>${issued.accessKeyId}</AccessKeyId><SecretAccessKey>${escape(issued.secretAccessKey)}</SecretAccessKey>` +
        `<SessionToken>${escape(issued.sessionToken)}</SessionToken><Expiration>${issued.expiration.toISOString()}</Expiration></Credentials>` +
        `<AssumedRoleUser><AssumedRoleId>${escape(issued.assumedRoleId)}</AssumedRoleId><Arn>${escape(issued.arn)}</Arn></AssumedRoleUser>` +
        `</AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    };
  } catch (error) {
    if (error instanceof StsFailure) return failure(error.code, error.message);
    throw error;
  }
}
