import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { s3ClientConfig, S3Store } from "#adapters/s3.ts";
import { startLocalS3, type LocalS3 } from "#local/s3/server.ts";
import type { LocalIdentities } from "#local/redshift/identities.ts";

export const TEST_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local-secret" };

export type LocalS3Fixture = { server: LocalS3; endpoint: string; client: S3Client; store: S3Store; dir: string; stop(): Promise<void> };

/**
 * A local S3 server on a fresh folder, and the project's own client configured for it by endpoint only; with
 * `identities`, it enforces the stack's IAM once they carry it (the client is an administrator's).
 */
export async function startTestS3(buckets: string[] = ["test-bucket"], identities?: LocalIdentities): Promise<LocalS3Fixture> {
  const dir = await mkdtemp(path.join(tmpdir(), "mrsync-s3-"));
  const server = await startLocalS3({ rootDir: dir, buckets, ...(identities === undefined ? {} : { identities }) });
  const client = new S3Client({
    ...s3ClientConfig({ AWS_ENDPOINT_URL_S3: server.endpoint }),
    region: "us-east-1",
    credentials: TEST_CREDENTIALS,
  });
  return {
    server,
    endpoint: server.endpoint,
    client,
    store: new S3Store(client),
    dir,
    async stop() {
      client.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
