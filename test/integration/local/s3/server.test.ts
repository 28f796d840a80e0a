import { createHash, randomBytes } from "node:crypto";
import { readFile, writeFile, mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { CopyObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3ClientConfig } from "#adapters/s3.ts";
import { NotFoundError, PreconditionFailedError } from "#shared/errors.ts";
import { startLocalS3, type S3ObjectEvent } from "#local/s3/server.ts";
import { aws, withAwsCli } from "../../../support/aws-cli.ts";
import { startTestS3, TEST_CREDENTIALS, type LocalS3Fixture } from "../../../support/local-s3.ts";

const BUCKET = "test-bucket";
let s3: LocalS3Fixture;

beforeAll(async () => {
  s3 = await startTestS3([BUCKET, "other-bucket"]);
});
afterAll(async () => {
  await s3.stop();
});

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** A deterministic pseudo-random stream of `total` bytes, produced in small pieces and never held whole. */
function generatedStream(total: number, seed: string): { stream: Readable; digest: () => string } {
  const hash = createHash("sha256");
  let produced = 0;
  let block = createHash("sha512").update(seed).digest();
  const stream = new Readable({
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const pieces: Buffer[] = [];
      for (let i = 0; i < 1024 && produced < total; i++) {
        block = createHash("sha512").update(block).digest();
        const piece = block.subarray(0, Math.min(block.length, total - produced));
        pieces.push(piece);
        produced += piece.length;
      }
      const chunk = Buffer.concat(pieces);
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest("hex") };
}

async function bodyOf(client: S3Client, key: string, bucket = BUCKET): Promise<Buffer> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

describe("local S3 with the project's client", () => {
  it("stores a streamed PutObject body byte-exact (aws-chunked with CRC32 trailer decoded and verified)", async () => {
    const data = randomBytes(300_000);
    await s3.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "stream/one.bin",
        Body: Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
        ContentLength: data.length,
      }),
    );
    const back = await bodyOf(s3.client, "stream/one.bin");
    expect(back.length).toBe(data.length);
    expect(sha256(back)).toBe(sha256(data));
  });

  it("round-trips a 50 MB streamed multipart upload byte-exact, its size counted while streaming", async () => {
    const size = 50 * 1024 * 1024;
    const source = generatedStream(size, "fifty");
    const result = await s3.store.uploadStream(BUCKET, "big/fifty.bin", source.stream);
    expect(result.bytes).toBe(size);
    expect(result.etag).toMatch(/^"[0-9a-f]{32}-7"$/); // 50 MiB in 8 MiB parts
    const downloaded = createHash("sha256");
    let downloadedBytes = 0;
    for await (const chunk of await s3.store.getStream(BUCKET, "big/fifty.bin")) {
      downloaded.update(chunk as Buffer);
      downloadedBytes += (chunk as Buffer).length;
    }
    expect(downloadedBytes).toBe(size);
    expect(downloaded.digest("hex")).toBe(source.digest());
  });

  it("rejects a part whose announced checksum does not match its bytes", async () => {
    const response = await fetch(`${s3.server.endpoint}/${BUCKET}/bad-checksum.txt`, {
      method: "PUT",
      body: "hello",
      headers: { "x-amz-checksum-crc32": "AAAAAA==" },
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("does not match");
    expect(await s3.store.head(BUCKET, "bad-checksum.txt")).toBeUndefined();
  });

  it("lists more than 1,000 keys with continuation tokens, in S3 key order", async () => {
    const keys = Array.from({ length: 2_345 }, (_, i) => `many/k${String(i).padStart(5, "0")}.json`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => s3.store.putJson(BUCKET, key, { key })));
    }
    const listed = await s3.store.listAll(BUCKET, "many/");
    expect(listed.map((o) => o.key)).toEqual(keys);

    const first = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "many/" }));
    expect(first.KeyCount).toBe(1000);
    expect(first.IsTruncated).toBe(true);
    const second = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "many/", ContinuationToken: first.NextContinuationToken }));
    expect(second.Contents?.[0]?.Key).toBe(keys[1000]);
  });

  it("groups keys by delimiter and orders keys by UTF-8 bytes", async () => {
    for (const key of ["tree/a/1", "tree/a/2", "tree/b/1", "tree/c", "tree/\u00e9", "tree/\u{1F600}", "tree/\uFF21"]) {
      await s3.store.putText(BUCKET, key, key);
    }
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "tree/", Delimiter: "/" }));
    expect(page.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["tree/a/", "tree/b/"]);
    // U+FF21 (EF BC A1) sorts before U+1F600 (F0 9F 98 80) in UTF-8, after it in UTF-16.
    expect(page.Contents?.map((c) => c.Key)).toEqual(["tree/c", "tree/\u00e9", "tree/\uFF21", "tree/\u{1F600}"]);
  });

  it("answers 412 to If-None-Match: * on an existing key and to a stale If-Match", async () => {
    const key = "watermarks/v2/p/s.t.json";
    const created = await s3.store.putJson(BUCKET, key, { version: 1 }, { ifNoneMatch: "*" });
    await expect(s3.store.putJson(BUCKET, key, { version: 99 }, { ifNoneMatch: "*" })).rejects.toBeInstanceOf(PreconditionFailedError);
    const updated = await s3.store.putJson(BUCKET, key, { version: 2 }, { ifMatch: created.etag });
    await expect(s3.store.putJson(BUCKET, key, { version: 3 }, { ifMatch: created.etag })).rejects.toThrow(
      /conditional write to s3:\/\/test-bucket\/watermarks\/v2\/p\/s\.t\.json refused \(If-Match/,
    );
    expect((await s3.store.getJson(BUCKET, key)).value).toEqual({ version: 2 });
    expect((await s3.store.getJson(BUCKET, key)).etag).toBe(updated.etag);
  });

  it("lets exactly one of many concurrent If-None-Match creators win", async () => {
    const attempts = await Promise.allSettled(
      Array.from({ length: 12 }, (_, writer) => s3.store.putJson(BUCKET, "lease.json", { writer }, { ifNoneMatch: "*" })),
    );
    expect(attempts.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    const losers = attempts.filter((a): a is PromiseRejectedResult => a.status === "rejected");
    expect(losers).toHaveLength(11);
    for (const loser of losers) expect(loser.reason).toBeInstanceOf(PreconditionFailedError);
  });

  it("maps a missing object to NotFoundError (get, If-Match on a missing key) and head to undefined", async () => {
    await expect(s3.store.getJson(BUCKET, "nope.json")).rejects.toBeInstanceOf(NotFoundError);
    await expect(s3.store.putJson(BUCKET, "nope.json", {}, { ifMatch: '"abc"' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await s3.store.head(BUCKET, "nope.json")).toBeUndefined();
  });

  it("emits object-created and object-removed events", async () => {
    const events: S3ObjectEvent[] = [];
    const record = (event: S3ObjectEvent) => events.push(event);
    s3.server.events.on("objectCreated", record);
    s3.server.events.on("objectRemoved", record);
    try {
      await s3.store.putText(BUCKET, "events/put.txt", "x");
      await s3.store.uploadStream(BUCKET, "events/multipart.bin", generatedStream(9 * 1024 * 1024, "ev").stream);
      await s3.client.send(new CopyObjectCommand({ Bucket: "other-bucket", Key: "copy.txt", CopySource: `${BUCKET}/events/put.txt` }));
      await s3.store.delete(BUCKET, ["events/put.txt"]);
    } finally {
      s3.server.events.off("objectCreated", record);
      s3.server.events.off("objectRemoved", record);
    }
    expect(events.map((e) => [e.eventName, e.bucket, e.key])).toEqual([
      ["ObjectCreated:Put", BUCKET, "events/put.txt"],
      ["ObjectCreated:CompleteMultipartUpload", BUCKET, "events/multipart.bin"],
      ["ObjectCreated:Copy", "other-bucket", "copy.txt"],
      ["ObjectRemoved:Delete", BUCKET, "events/put.txt"],
    ]);
    expect(events[1]?.size).toBe(9 * 1024 * 1024);
  });

  it("keeps objects in its folder: a new server on the same folder serves them", async () => {
    await s3.store.putJson(BUCKET, "persist/a b+c.json", { kept: true });
    const files = await readdir(path.join(s3.dir, BUCKET, "persist"));
    expect(files).toContain("a%20b%2Bc.json.__meta.json");
    expect(
      files.filter((f) => /^a%20b%2Bc\.json\.[0-9a-f-]{36}\.__obj$/.test(f)),
      "one body file, the current one",
    ).toHaveLength(1);
    const again = await startLocalS3({ rootDir: s3.dir });
    const client = new S3Client({ ...s3ClientConfig({ AWS_ENDPOINT_URL_S3: again.endpoint }), region: "us-east-1", credentials: TEST_CREDENTIALS });
    try {
      expect(JSON.parse((await bodyOf(client, "persist/a b+c.json")).toString("utf8"))).toEqual({ kept: true });
    } finally {
      client.destroy();
      await again.close();
    }
  });

  it("is atomic per object: a read during a rewrite sees the old object or the new one, never new bytes under old metadata", async () => {
    const key = "atomic/watermark.json";
    const value = (i: number) => ({ version: i, padding: "x".repeat((i * 37) % 500) });
    await s3.store.putJson(BUCKET, key, value(0));
    const writes = { done: false };
    const writer = (async () => {
      for (let i = 1; i <= 150; i++) await s3.store.putJson(BUCKET, key, value(i));
      writes.done = true;
    })();
    let reads = 0;
    while (!writes.done) {
      const { value: read } = await s3.store.getJson(BUCKET, key);
      const version = (read as { version: number }).version;
      expect(read).toEqual(value(version));
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(10);
    const files = await readdir(path.join(s3.dir, BUCKET, "atomic"));
    expect(
      files.filter((f) => f.endsWith(".__obj")),
      "replaced bodies are removed",
    ).toHaveLength(1);
  });

  it("answers a malformed URI with 400 InvalidURI and keeps serving", async () => {
    const response = await fetch(`${s3.server.endpoint}/${BUCKET}/bad%E0%A4%A`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("<Code>InvalidURI</Code>");
    expect(await s3.store.head(BUCKET, "range-missing.txt")).toBeUndefined();
  });

  it("serves byte ranges", async () => {
    await s3.store.putText(BUCKET, "range.txt", "0123456789");
    const response = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "range.txt", Range: "bytes=2-5" }));
    expect(await response.Body!.transformToString()).toBe("2345");
    expect(response.ContentRange).toBe("bytes 2-5/10");
  });
});

describe.runIf(withAwsCli)("local S3 with the AWS CLI", () => {
  const cli = (args: string[]) => aws(s3.server.endpoint, args);

  it("uploads with `aws s3 cp` (single and multipart) and the SDK reads the same bytes", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mrsync-cli-"));
    const small = randomBytes(10_000);
    const large = randomBytes(20 * 1024 * 1024);
    await writeFile(path.join(dir, "small.bin"), small);
    await writeFile(path.join(dir, "large.bin"), large);
    await cli(["s3", "cp", path.join(dir, "small.bin"), `s3://${BUCKET}/cli/small.bin`]);
    await cli(["s3", "cp", path.join(dir, "large.bin"), `s3://${BUCKET}/cli/large.bin`]);
    expect(sha256(await bodyOf(s3.client, "cli/small.bin"))).toBe(sha256(small));
    expect(sha256(await bodyOf(s3.client, "cli/large.bin"))).toBe(sha256(large));
  });

  it("downloads what the project uploaded with `aws s3 cp`, byte-exact", async () => {
    const data = randomBytes(12 * 1024 * 1024);
    await s3.store.uploadStream(BUCKET, "cli/from-sdk.bin", Readable.from([data]));
    const dir = await mkdtemp(path.join(tmpdir(), "mrsync-cli-"));
    await cli(["s3", "cp", `s3://${BUCKET}/cli/from-sdk.bin`, path.join(dir, "out.bin")]);
    expect(sha256(await readFile(path.join(dir, "out.bin")))).toBe(sha256(data));
  });

  it("lists more than 1,000 keys with `aws s3 ls --recursive`", async () => {
    const keys = Array.from({ length: 1_203 }, (_, i) => `cli-many/${String(i).padStart(4, "0")} file.txt`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => s3.store.putText(BUCKET, key, "x")));
    }
    const { stdout } = await cli(["s3", "ls", `s3://${BUCKET}/cli-many/`, "--recursive"]);
    const listed = stdout
      .trim()
      .split("\n")
      .map((line) => line.slice(line.indexOf("cli-many/")));
    expect(listed).toEqual(keys);
  });

  it("refuses `aws s3api put-object --if-none-match *` on an existing key with PreconditionFailed", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mrsync-cli-"));
    await writeFile(path.join(dir, "a.json"), "{}");
    await cli(["s3api", "put-object", "--bucket", BUCKET, "--key", "cli/cond.json", "--body", path.join(dir, "a.json"), "--if-none-match", "*"]);
    const second = cli(["s3api", "put-object", "--bucket", BUCKET, "--key", "cli/cond.json", "--body", path.join(dir, "a.json"), "--if-none-match", "*"]);
    await expect(second).rejects.toThrow(/PreconditionFailed/);
  });
});
