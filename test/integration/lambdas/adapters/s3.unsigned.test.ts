/**
 * S3Store.putParts signs its body as UNSIGNED-PAYLOAD (no SHA-256 of the whole file): the body's integrity is then
 * the CRC32 the SDK still sends, which S3 — and the stand-in — checks. A byte changed after signing is refused.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3ClientConfig, S3Store } from "#adapters/s3.ts";
import { startTestS3, TEST_CREDENTIALS, type LocalS3Fixture } from "../../../support/local-s3.ts";

let s3: LocalS3Fixture;
let store: S3Store;
const sent: Record<string, string>[] = [];
let corrupt = false;

beforeAll(async () => {
  s3 = await startTestS3(["unsigned-bucket"]);
  const client = new S3Client({ ...s3ClientConfig({ AWS_ENDPOINT_URL_S3: s3.server.endpoint }), region: "us-east-1", credentials: TEST_CREDENTIALS });
  // After signing, as the request leaves: what it carries, and (when asked) one byte of its body changed in transit.
  client.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers: Record<string, string>; body?: unknown };
      sent.push({ ...request.headers });
      if (corrupt && Buffer.isBuffer(request.body)) {
        const body = Buffer.from(request.body);
        body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
        request.body = body;
      }
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "testInTransit" },
  );
  store = new S3Store(client);
});
afterAll(async () => {
  store.client.destroy();
  await s3.stop();
});

describe("S3Store.putParts: unsigned payload, checked by its CRC32", () => {
  it("sends UNSIGNED-PAYLOAD with the body's CRC32, and the object lands byte-exact", async () => {
    const parts = [Buffer.alloc(300_000, 1), Buffer.alloc(100_000, 2)];
    await store.putParts("unsigned-bucket", "ok.parquet", parts);
    expect(sent.at(-1)).toMatchObject({ "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-checksum-crc32": expect.any(String) as string });
    const back: Buffer[] = [];
    for await (const chunk of await s3.store.getStream("unsigned-bucket", "ok.parquet")) back.push(chunk as Buffer);
    expect(Buffer.concat(back).equals(Buffer.concat(parts))).toBe(true);
  });

  it("a body changed after signing is refused (its CRC32 does not match), and nothing is stored", async () => {
    corrupt = true;
    try {
      await expect(store.putParts("unsigned-bucket", "bad.parquet", [Buffer.alloc(200_000, 3)])).rejects.toThrow(/BadDigest|checksum|digest/i);
    } finally {
      corrupt = false;
    }
    expect(await s3.store.head("unsigned-bucket", "bad.parquet")).toBeUndefined();
  });
});
