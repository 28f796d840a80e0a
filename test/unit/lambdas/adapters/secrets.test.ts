import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { CredentialResolver, SecretError } from "#adapters/secrets.ts";
import type { SourceConnection } from "#config/schema.ts";

// Secrets Manager is AWS-only: no local server exists for it, so its client is mocked.
const secretsManager = mockClient(SecretsManagerClient);
const source = (secret: string): SourceConnection => ({
  host: "db",
  port: 3306,
  database: "shop",
  secret,
  ssl: true,
  connect_timeout_ms: 1000,
});

beforeEach(() => {
  secretsManager.reset();
});

describe("credential resolution", () => {
  it("reads {username, password} from the named secret once and serves it from cache", async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: "arn:aws:secretsmanager:us-west-2:1:secret:db" }).resolves({
      SecretString: JSON.stringify({ username: "reader", password: "s3cr3t", engine: "mysql" }),
    });
    const resolver = new CredentialResolver(new SecretsManagerClient({ region: "us-west-2" }));
    const first = await resolver.credentials("US_DW", source("arn:aws:secretsmanager:us-west-2:1:secret:db"));
    const second = await resolver.credentials("US_DW", source("arn:aws:secretsmanager:us-west-2:1:secret:db"));
    expect(first).toEqual({ username: "reader", password: "s3cr3t" });
    expect(second).toEqual(first);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it("uses username/password from config when no secret is named (local use)", async () => {
    const resolver = new CredentialResolver(new SecretsManagerClient({ region: "us-west-2" }));
    const local: SourceConnection = { ...source("x"), secret: undefined, username: "root", password: "" };
    expect(await resolver.credentials("demo", local)).toEqual({ username: "root", password: "" });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it("names the secret but never its contents when the JSON lacks a field", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ user: "x", password: "do-not-print" }) });
    const resolver = new CredentialResolver(new SecretsManagerClient({ region: "us-west-2" }));
    const error: unknown = await resolver.credentials("US_DW", source("us-dw-ro")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretError);
    expect(String(error)).toMatch(/source US_DW: secret us-dw-ro must hold JSON .*missing: username/);
    expect(String(error)).not.toContain("do-not-print");
  });

  it("does not quote a secret that is not JSON", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "plain-password-do-not-print" });
    const resolver = new CredentialResolver(new SecretsManagerClient({ region: "us-west-2" }));
    const error: unknown = await resolver.credentials("US_DW", source("us-dw-ro")).catch((e: unknown) => e);
    expect(String(error)).toContain("cannot read secret us-dw-ro");
    expect(String(error)).not.toContain("plain-password-do-not-print");
  });
});
