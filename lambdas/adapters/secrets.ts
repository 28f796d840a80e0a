/**
 * Database credentials for a source: from Secrets Manager when the source names a secret (ARN or name), cached
 * by Powertools Parameters; from the config's username/password (${ENV} already resolved) for local use.
 * Secret values are never logged and never appear in errors.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { z } from "zod";
import type { SourceConnection } from "#config/schema.ts";
import { tracer } from "#shared/powertools.ts";

/** Credentials are re-read at most every 5 minutes, so a rotated secret is picked up without a redeploy. */
export const SECRET_CACHE_SECONDS = 300;

const CredentialsSchema = z.object({ username: z.string().min(1), password: z.string() });
export type DbCredentials = z.output<typeof CredentialsSchema>;

export class SecretError extends Error {
  override readonly name = "SecretError";
}

export class CredentialResolver {
  private readonly provider: SecretsProvider;

  constructor(client: SecretsManagerClient) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
  }

  async credentials(sourceName: string, source: SourceConnection): Promise<DbCredentials> {
    if (source.secret === undefined) {
      return { username: source.username ?? "", password: source.password ?? "" };
    }
    let value: unknown;
    try {
      value = await this.provider.get(source.secret, { maxAge: SECRET_CACHE_SECONDS, transform: "json" });
    } catch (error) {
      // The cause may quote the secret's text when it is not JSON: keep only its kind.
      const reason = error instanceof Error && /transform|JSON/i.test(error.message) ? "it is not JSON" : String(error instanceof Error ? error.name : error);
      throw new SecretError(`source ${sourceName}: cannot read secret ${source.secret} (${reason}); it must hold JSON {"username": "...", "password": "..."}`);
    }
    const parsed = CredentialsSchema.safeParse(value);
    if (!parsed.success) {
      const missing = parsed.error.issues.map((issue) => issue.path.join(".") || "(root)").join(", ");
      throw new SecretError(`source ${sourceName}: secret ${source.secret} must hold JSON {"username": "...", "password": "..."}; bad or missing: ${missing}`);
    }
    return parsed.data;
  }
}

let defaultResolver: CredentialResolver | undefined;

/** The process-wide resolver (one client and one cache per Lambda container). */
export function credentialResolver(): CredentialResolver {
  defaultResolver ??= new CredentialResolver(tracer.captureAWSv3Client(new SecretsManagerClient({ retryMode: "adaptive", maxAttempts: 5 })));
  return defaultResolver;
}
