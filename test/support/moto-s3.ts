/**
 * moto's S3 server (`python3 -m moto.server`): a third-party S3 implementation with conditional writes and multipart,
 * as a second check on the S3 adapter and a sync, beside the project's own stand-in. Present on the node-svc machine
 * kind; `motoAvailable` says whether it is here (tests skip, saying why, where it is not).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { s3ClientConfig, S3Store } from "#adapters/s3.ts";
import { TEST_CREDENTIALS } from "./local-s3.ts";

export const motoAvailable = spawnSync("python3", ["-c", "import moto.server"], { stdio: "ignore" }).status === 0;

export type MotoS3 = { endpoint: string; client: S3Client; store: S3Store; stop(): Promise<void> };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === "object" && address !== null ? address.port : 0);
      });
    });
    server.on("error", reject);
  });
}

export async function startMotoS3(buckets: readonly string[]): Promise<MotoS3> {
  const port = await freePort();
  const child: ChildProcess = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    const up = await fetch(`${endpoint}/moto-api/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (attempt >= 150 || child.exitCode !== null) {
      child.kill();
      throw new Error(`moto's S3 server did not start on ${endpoint}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const client = new S3Client({ ...s3ClientConfig({ AWS_ENDPOINT_URL_S3: endpoint }), region: "us-east-1", credentials: TEST_CREDENTIALS });
  for (const bucket of buckets) await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    client,
    store: new S3Store(client),
    async stop() {
      client.destroy();
      child.kill();
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
