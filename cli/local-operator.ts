/**
 * The operator the local CLI runs as. On AWS an operator's shell already holds a session of their role (SSO, a
 * profile); locally the CLI gets one from the local STS with the stand-ins' throwaway key, so that what it does —
 * above all assuming the warehouse role for reconcile's and smoke's SQL — is judged against the stack's trust
 * policy as an operator's would be. Only production dependencies: the CLI loads it with --local.
 */
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { LOCAL_OPERATOR_ROLE_ARN, LOCAL_OPERATOR_ROLE_ENV, LOCAL_REGION } from "#local/endpoints.ts";

export type SessionCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken: string };

/**
 * A session of the operator role (`MRSYNC_LOCAL_OPERATOR_ROLE_ARN`, else LOCAL_OPERATOR_ROLE_ARN) from the STS at
 * AWS_ENDPOINT_URL_STS, signed with the environment's key.
 */
export async function localOperatorSession(env: NodeJS.ProcessEnv): Promise<SessionCredentials> {
  const endpoint = env.AWS_ENDPOINT_URL_STS;
  if (endpoint === undefined) throw new Error("a local operator session needs AWS_ENDPOINT_URL_STS (the local stand-ins' STS)");
  const provider = fromTemporaryCredentials({
    masterCredentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "" },
    params: { RoleArn: env[LOCAL_OPERATOR_ROLE_ENV] ?? LOCAL_OPERATOR_ROLE_ARN, RoleSessionName: "mrsync-cli" },
    clientConfig: { region: env.AWS_REGION ?? LOCAL_REGION, endpoint },
  });
  const credentials = await provider();
  return { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken ?? "" };
}

/** The environment with the operator's session in place of the throwaway key (unless it holds a session already). */
export async function asLocalOperator(env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  if (env.AWS_SESSION_TOKEN !== undefined && env.AWS_SESSION_TOKEN !== "") return env;
  const session = await localOperatorSession(env);
  return { ...env, AWS_ACCESS_KEY_ID: session.accessKeyId, AWS_SECRET_ACCESS_KEY: session.secretAccessKey, AWS_SESSION_TOKEN: session.sessionToken };
}
