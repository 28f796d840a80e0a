/** The S3 operations the stand-in serves, over a FolderStore. Writes to one key are serialised (see KeyLocks). */
import { EventEmitter } from "node:events";
import { createWriteStream } from "node:fs";
import { rm, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { FolderStore } from "./folder-store.ts";
import { compareKeys, type ObjectMeta } from "./folder-store.ts";
import { header, noSuchBucket, noSuchKey, readXmlBody, receiveBody, S3Failure, sendEmpty, sendXml, type Request } from "./http.ts";
import { MultipartUploads } from "./multipart.ts";
import { metaFromRequest, unquote } from "./object-meta.ts";
import type { XmlNode } from "./xml.ts";

export type S3ObjectEvent = {
  eventName: "ObjectCreated:Put" | "ObjectCreated:Copy" | "ObjectCreated:CompleteMultipartUpload" | "ObjectRemoved:Delete";
  bucket: string;
  key: string;
  size: number;
  etag: string;
};
export type S3Events = { objectCreated: [S3ObjectEvent]; objectRemoved: [S3ObjectEvent] };

const MAX_KEYS = 1000;

/** One writer per key at a time: conditional writes check and commit atomically within this server. */
class KeyLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(lockKey: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(lockKey) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => undefined);
    this.tails.set(lockKey, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(lockKey) === tail) this.tails.delete(lockKey);
    }
  }
}

/** S3's conditional-write rules for PutObject / CompleteMultipartUpload / CopyObject. */
function checkWritePreconditions(r: Request, existing: ObjectMeta | undefined): void {
  const ifNoneMatch = header(r.req, "if-none-match");
  const ifMatch = header(r.req, "if-match");
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== "*") throw new S3Failure(501, "NotImplemented", "If-None-Match accepts only *");
    if (existing) throw new S3Failure(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold (If-None-Match)");
  }
  if (ifMatch !== undefined) {
    if (!existing) throw noSuchKey(r.key);
    if (ifMatch.trim() !== "*" && unquote(ifMatch) !== unquote(existing.etag)) {
      throw new S3Failure(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold (If-Match)");
    }
  }
}

function objectHeaders(meta: ObjectMeta): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    etag: meta.etag,
    "content-type": meta.contentType,
    "last-modified": new Date(meta.lastModified).toUTCString(),
    "accept-ranges": "bytes",
    ...meta.headers,
  };
  for (const [name, value] of Object.entries(meta.userMetadata)) headers[`x-amz-meta-${name}`] = value;
  return headers;
}

function parseRange(rangeHeader: string | undefined, size: number): { start: number; end: number } | undefined {
  if (rangeHeader === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
  if (!match || (match[1] === "" && match[2] === "")) return undefined;
  const [, from = "", to = ""] = match;
  const range =
    from === ""
      ? { start: Math.max(0, size - Number(to)), end: size - 1 }
      : { start: Number(from), end: to === "" ? size - 1 : Math.min(Number(to), size - 1) };
  if (range.start >= size || range.start > range.end) {
    throw new S3Failure(416, "InvalidRange", "The requested range is not satisfiable");
  }
  return range;
}

export class S3Operations {
  readonly events = new EventEmitter<S3Events>();
  private readonly locks = new KeyLocks();
  readonly store: FolderStore;
  readonly multipart: MultipartUploads;

  constructor(store: FolderStore) {
    this.store = store;
    this.multipart = new MultipartUploads(this, path.join(store.root, ".uploads"));
  }

  async requireBucket(bucket: string): Promise<void> {
    if (!(await this.store.bucketExists(bucket))) throw noSuchBucket(bucket);
  }

  private async requireObject(bucket: string, key: string): Promise<ObjectMeta> {
    await this.requireBucket(bucket);
    const meta = await this.store.getMeta(bucket, key);
    if (!meta) throw noSuchKey(key);
    return meta;
  }

  /** Commits a staged body under the key's lock, applying the request's write preconditions. */
  commit(r: Request, meta: ObjectMeta, bodyFile: string, eventName: S3ObjectEvent["eventName"]): Promise<void> {
    return this.locks.run(`${r.bucket}/${r.key}`, async () => {
      checkWritePreconditions(r, await this.store.getMeta(r.bucket, r.key));
      await this.store.commitObject(r.bucket, meta, bodyFile);
      this.events.emit("objectCreated", { eventName, bucket: r.bucket, key: r.key, size: meta.size, etag: meta.etag });
    });
  }

  // ------------------------------------------------------------------ service and buckets

  async listBuckets(r: Request): Promise<void> {
    const buckets = (await this.store.listBuckets()).sort((a, b) => compareKeys(a.name, b.name));
    sendXml(r, 200, "ListAllMyBucketsResult", {
      Owner: { ID: "local", DisplayName: "local" },
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: b.created.toISOString() })) },
    });
  }

  async createBucket(r: Request): Promise<void> {
    if (!this.store.isValidBucketName(r.bucket)) throw new S3Failure(400, "InvalidBucketName", `invalid bucket name ${r.bucket}`);
    await this.store.createBucket(r.bucket);
    sendEmpty(r, 200, { location: `/${r.bucket}` });
  }

  async headBucket(r: Request): Promise<void> {
    await this.requireBucket(r.bucket);
    sendEmpty(r, 200, { "x-amz-bucket-region": "us-east-1" });
  }

  async deleteBucket(r: Request): Promise<void> {
    await this.requireBucket(r.bucket);
    if (!(await this.store.isBucketEmpty(r.bucket))) throw new S3Failure(409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
    await this.store.deleteBucket(r.bucket);
    sendEmpty(r, 204);
  }

  async getBucketLocation(r: Request): Promise<void> {
    await this.requireBucket(r.bucket);
    const text = `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`;
    r.res.writeHead(200, { "content-type": "application/xml", "content-length": Buffer.byteLength(text) });
    r.res.end(text);
  }

  /** ListObjectsV2 (list-type=2) and ListObjects (v1): prefix, delimiter, max-keys, pagination, encoding-type=url. */
  async listObjects(r: Request): Promise<void> {
    await this.requireBucket(r.bucket);
    const q = r.query;
    const v2 = q.get("list-type") === "2";
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const maxKeys = Math.min(Number(q.get("max-keys") ?? MAX_KEYS), MAX_KEYS);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new S3Failure(400, "InvalidArgument", "max-keys must be a non-negative integer");
    const token = q.get("continuation-token");
    const startAfter = v2 ? (token === null ? (q.get("start-after") ?? "") : Buffer.from(token, "base64url").toString("utf8")) : (q.get("marker") ?? "");
    const encode = q.get("encoding-type") === "url" ? (s: string) => encodeURIComponent(s).replace(/%2F/g, "/") : (s: string) => s;

    const keys = await this.store.listKeys(r.bucket, prefix);
    const contents: string[] = [];
    const commonPrefixes: string[] = [];
    let i = keys.findIndex((key) => compareKeys(key, startAfter) > 0);
    if (i < 0) i = keys.length;
    let lastKey = "";
    let truncated = false;
    while (i < keys.length) {
      if (contents.length + commonPrefixes.length === maxKeys) {
        truncated = true;
        break;
      }
      const key = keys[i] ?? "";
      const cut = delimiter === "" ? -1 : key.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        const common = key.slice(0, cut + delimiter.length);
        commonPrefixes.push(common);
        while (i < keys.length && (keys[i] ?? "").startsWith(common)) lastKey = keys[i++] ?? "";
      } else {
        contents.push(key);
        lastKey = key;
        i++;
      }
    }
    const metas = await Promise.all(contents.map((key) => this.store.getMeta(r.bucket, key)));
    const body: XmlNode = {
      Name: r.bucket,
      Prefix: encode(prefix),
      Delimiter: delimiter === "" ? undefined : encode(delimiter),
      MaxKeys: maxKeys,
      EncodingType: q.get("encoding-type") ?? undefined,
      IsTruncated: truncated,
      Contents: metas.flatMap((meta) =>
        meta ? [{ Key: encode(meta.key), LastModified: meta.lastModified, ETag: meta.etag, Size: meta.size, StorageClass: "STANDARD" }] : [],
      ),
      CommonPrefixes: commonPrefixes.map((p) => ({ Prefix: encode(p) })),
    };
    if (v2) {
      Object.assign(body, {
        KeyCount: contents.length + commonPrefixes.length,
        ContinuationToken: token ?? undefined,
        StartAfter: q.get("start-after") ?? undefined,
        NextContinuationToken: truncated ? Buffer.from(lastKey, "utf8").toString("base64url") : undefined,
      });
    } else {
      Object.assign(body, { Marker: encode(startAfter), NextMarker: truncated ? encode(lastKey) : undefined });
    }
    sendXml(r, 200, "ListBucketResult", body);
  }

  async deleteObjects(r: Request): Promise<void> {
    await this.requireBucket(r.bucket);
    const parsed = (await readXmlBody(r.req)) as { Delete?: { Quiet?: string; Object?: { Key?: string }[] } };
    const objects = parsed.Delete?.Object ?? [];
    if (objects.length > 1000) throw new S3Failure(400, "MalformedXML", "at most 1000 keys per DeleteObjects");
    const deleted: XmlNode[] = [];
    const errors: XmlNode[] = [];
    for (const { Key: key } of objects) {
      if (key === undefined) continue;
      // S3 decides each key on its own: a refused one is an Error entry in a 200 answer.
      if (!(await r.allows("s3:DeleteObject", `arn:aws:s3:::${r.bucket}/${key}`))) {
        errors.push({ Key: key, Code: "AccessDenied", Message: "Access Denied" });
        continue;
      }
      await this.removeObject(r.bucket, key);
      deleted.push({ Key: key });
    }
    sendXml(r, 200, "DeleteResult", { Deleted: parsed.Delete?.Quiet === "true" ? [] : deleted, ...(errors.length === 0 ? {} : { Error: errors }) });
  }

  // ------------------------------------------------------------------ objects

  async putObject(r: Request): Promise<void> {
    await this.requireBucket(r.bucket);
    const temp = this.store.tempFile();
    try {
      const body = await receiveBody(r.req, temp);
      const meta = metaFromRequest(r, body.size, `"${body.md5Hex}"`);
      await this.commit(r, meta, temp, "ObjectCreated:Put");
      sendEmpty(r, 200, { etag: meta.etag });
    } finally {
      await rm(temp, { force: true });
    }
  }

  async copyObject(r: Request, copySource: string): Promise<void> {
    const decoded = decodeURIComponent(copySource.split("?")[0] ?? "").replace(/^\//, "");
    const slash = decoded.indexOf("/");
    const [sourceBucket, sourceKey] = [decoded.slice(0, slash), decoded.slice(slash + 1)];
    await this.requireBucket(sourceBucket);
    const opened = await this.store.openObject(sourceBucket, sourceKey);
    if (opened === undefined) throw noSuchKey(sourceKey);
    const source = opened.meta;
    await this.requireBucket(r.bucket);
    const temp = this.store.tempFile();
    try {
      try {
        await pipeline(opened.body.createReadStream({ autoClose: false }), createWriteStream(temp));
      } finally {
        await opened.body.close();
      }
      const replace = header(r.req, "x-amz-metadata-directive") === "REPLACE";
      const meta: ObjectMeta = replace ? metaFromRequest(r, source.size, source.etag) : { ...source, key: r.key, lastModified: new Date().toISOString() };
      await this.commit(r, meta, temp, "ObjectCreated:Copy");
      sendXml(r, 200, "CopyObjectResult", { LastModified: meta.lastModified, ETag: meta.etag });
    } finally {
      await rm(temp, { force: true });
    }
  }

  async getObject(r: Request, headOnly: boolean): Promise<void> {
    await this.requireBucket(r.bucket);
    const opened = await this.store.openObject(r.bucket, r.key);
    if (opened === undefined) throw noSuchKey(r.key);
    try {
      await this.sendObject(r, headOnly, opened.meta, opened.body);
    } finally {
      await opened.body.close().catch(() => undefined);
    }
  }

  private async sendObject(r: Request, headOnly: boolean, meta: ObjectMeta, body: FileHandle): Promise<void> {
    const ifMatch = header(r.req, "if-match");
    if (ifMatch !== undefined && ifMatch.trim() !== "*" && unquote(ifMatch) !== unquote(meta.etag)) {
      throw new S3Failure(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold (If-Match)");
    }
    const ifNoneMatch = header(r.req, "if-none-match");
    if (ifNoneMatch !== undefined && (ifNoneMatch.trim() === "*" || unquote(ifNoneMatch) === unquote(meta.etag))) {
      sendEmpty(r, 304, { etag: meta.etag });
      return;
    }
    const range = parseRange(header(r.req, "range"), meta.size);
    const headers = objectHeaders(meta);
    headers["content-length"] = range ? range.end - range.start + 1 : meta.size;
    if (range) headers["content-range"] = `bytes ${range.start}-${range.end}/${meta.size}`;
    r.res.writeHead(range ? 206 : 200, headers);
    if (headOnly || meta.size === 0) {
      r.res.end();
      return;
    }
    await pipeline(body.createReadStream({ ...range, autoClose: false }), r.res);
  }

  async deleteObject(r: Request): Promise<void> {
    await this.requireBucket(r.bucket);
    await this.removeObject(r.bucket, r.key);
    sendEmpty(r, 204);
  }

  private async removeObject(bucket: string, key: string): Promise<void> {
    await this.locks.run(`${bucket}/${key}`, async () => {
      const meta = await this.store.getMeta(bucket, key);
      if (!meta) return;
      await this.store.deleteObject(bucket, key);
      this.events.emit("objectRemoved", { eventName: "ObjectRemoved:Delete", bucket, key, size: meta.size, etag: meta.etag });
    });
  }
}
