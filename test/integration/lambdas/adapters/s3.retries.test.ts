import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3_MAX_ATTEMPTS, s3ClientConfig, S3Store } from "#adapters/s3.ts";
import { startFaultyProxy, type FaultyProxy } from "../../../support/faulty-proxy.ts";
import { startTestS3, TEST_CREDENTIALS, type LocalS3Fixture } from "../../../support/local-s3.ts";

let s3: LocalS3Fixture;
let proxy: FaultyProxy;
let store: S3Store;

beforeAll(async () => {
  s3 = await startTestS3(["retry-bucket"]);
  proxy = await startFaultyProxy(s3.server.endpoint);
  store = new S3Store(new S3Client({ ...s3ClientConfig({ AWS_ENDPOINT_URL_S3: proxy.endpoint }), region: "us-east-1", credentials: TEST_CREDENTIALS }));
});
afterAll(async () => {
  store.client.destroy();
  await proxy.close();
  await s3.stop();
});

describe("S3 adapter retries (the SDK's adaptive strategy, no hand-written loop)", () => {
  it("rides out transient 500s and writes once", async () => {
    proxy.fail(2);
    const before = proxy.seen();
    await store.putJson("retry-bucket", "w.json", { ok: true }, { ifNoneMatch: "*" });
    expect(proxy.seen() - before).toBe(3);
    expect((await s3.store.getJson("retry-bucket", "w.json")).value).toEqual({ ok: true });
  });

  it("rides out transient 500s with a file held in parts (one PUT of a Buffer the SDK can send again)", async () => {
    proxy.fail(2);
    const before = proxy.seen();
    const parts = [Buffer.alloc(300_000, 1), Buffer.alloc(100_000, 2)];
    const result = await store.putParts("retry-bucket", "parts.parquet", parts);
    expect(proxy.seen() - before).toBe(3);
    expect(result.bytes).toBe(400_000);
    expect((await s3.store.head("retry-bucket", "parts.parquet"))?.size).toBe(400_000);
  });

  it("gives up after S3_MAX_ATTEMPTS attempts with S3's error", async () => {
    proxy.fail(100);
    const before = proxy.seen();
    await expect(store.putJson("retry-bucket", "x.json", {})).rejects.toThrow(/internal error/);
    expect(proxy.seen() - before).toBe(S3_MAX_ATTEMPTS);
    proxy.fail(0);
  });

  it("does not retry a lost conditional write (412 is an answer, not a fault)", async () => {
    const before = proxy.seen();
    await expect(store.putJson("retry-bucket", "w.json", { again: true }, { ifNoneMatch: "*" })).rejects.toThrow(/refused/);
    expect(proxy.seen() - before).toBe(1);
  });
});
