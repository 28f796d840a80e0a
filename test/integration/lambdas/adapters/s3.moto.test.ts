/**
 * The S3 adapter against moto's S3 server (a third-party implementation): conditional writes, a file sent as one
 * PUT, streamed multipart uploads, metadata, listing past 1,000 keys, deletes — what the watermarks and the extractor rely
 * on, checked on an S3 the project did not write.
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError, PreconditionFailedError } from "#shared/errors.ts";
import { motoAvailable, startMotoS3, type MotoS3 } from "../../../support/moto-s3.ts";

const BUCKET = "moto-bucket";
let moto: MotoS3;

describe.skipIf(!motoAvailable)("the S3 adapter on moto's S3 server (skipped where python3 cannot import moto)", () => {
  beforeAll(async () => {
    moto = await startMotoS3([BUCKET]);
  }, 60_000);
  afterAll(async () => {
    await moto.stop();
  });

  it("refuses If-None-Match: * on an existing key and a stale If-Match (412), and maps a missing key to NotFoundError", async () => {
    const key = "watermarks/v2/p/s.t.json";
    const created = await moto.store.putJson(BUCKET, key, { version: 1 }, { ifNoneMatch: "*" });
    await expect(moto.store.putJson(BUCKET, key, { version: 99 }, { ifNoneMatch: "*" })).rejects.toBeInstanceOf(PreconditionFailedError);
    const updated = await moto.store.putJson(BUCKET, key, { version: 2 }, { ifMatch: created.etag });
    await expect(moto.store.putJson(BUCKET, key, { version: 3 }, { ifMatch: created.etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(await moto.store.getJson(BUCKET, key)).toEqual({ value: { version: 2 }, etag: updated.etag });
    await expect(moto.store.getJson(BUCKET, "nope.json")).rejects.toBeInstanceOf(NotFoundError);
    expect(await moto.store.head(BUCKET, "nope.json")).toBeUndefined();
  });

  it("takes a file held in parts as one PUT, byte-exact with its metadata", async () => {
    const parts = [randomBytes(3_000_000), randomBytes(1), randomBytes(1_300_000)];
    const result = await moto.store.putParts(BUCKET, "small/parts.bin", parts, "application/vnd.apache.parquet", { "mrsync-schema": "schemas/p/t/x.json" });
    expect(result.bytes).toBe(4_300_001);
    const info = await moto.store.head(BUCKET, "small/parts.bin");
    expect(info?.size).toBe(4_300_001);
    expect(info?.metadata?.["mrsync-schema"]).toBe("schemas/p/t/x.json");
    const back: Buffer[] = [];
    for await (const chunk of await moto.store.getStream(BUCKET, "small/parts.bin")) back.push(chunk as Buffer);
    expect(Buffer.concat(back).equals(Buffer.concat(parts))).toBe(true);
  });

  it("round-trips a 20 MB streamed multipart upload byte-exact, with metadata, its size counted while streaming", async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const result = await moto.store.uploadStream(
      BUCKET,
      "big/twenty.bin",
      Readable.from([data.subarray(0, 7_000_000), data.subarray(7_000_000)]),
      "application/octet-stream",
      {
        "mrsync-schema": "schemas/p/t/abc.json",
      },
    );
    expect(result.bytes).toBe(data.length);
    const info = await moto.store.head(BUCKET, "big/twenty.bin");
    expect(info?.size).toBe(data.length);
    expect(info?.metadata?.["mrsync-schema"]).toBe("schemas/p/t/abc.json");
    const back: Buffer[] = [];
    for await (const chunk of await moto.store.getStream(BUCKET, "big/twenty.bin")) back.push(chunk as Buffer);
    expect(createHash("sha256").update(Buffer.concat(back)).digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
  });

  it("lists past 1,000 keys in key order and deletes in batches", async () => {
    const keys = Array.from({ length: 1_234 }, (_, i) => `many/k${String(i).padStart(5, "0")}.json`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((key) => moto.store.putText(BUCKET, key, key)));
    expect((await moto.store.listAll(BUCKET, "many/")).map((o) => o.key)).toEqual(keys);
    expect(await moto.store.delete(BUCKET, keys)).toBe(keys.length);
    expect(await moto.store.listAll(BUCKET, "many/")).toEqual([]);
  });
});
