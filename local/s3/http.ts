/** HTTP plumbing shared by the S3 stand-in's operations: errors, XML replies, receiving bodies with checksums. */
import { createHash, type Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32 } from "node:zlib";
import { AwsChunkedDecoder, isAwsChunked } from "./aws-chunked.ts";
import { errorXml, parseXml, toXml, type XmlNode } from "./xml.ts";

/** An S3 error reply: status, S3 error code, message. */
export class S3Failure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const noSuchBucket = (bucket: string) => new S3Failure(404, "NoSuchBucket", `The specified bucket does not exist: ${bucket}`);
export const noSuchKey = (key: string) => new S3Failure(404, "NoSuchKey", `The specified key does not exist: ${key}`);

export type Request = {
  req: IncomingMessage;
  res: ServerResponse;
  bucket: string;
  key: string;
  query: URLSearchParams;
  requestId: string;
  /** Whether IAM lets the caller do `action` on `resource` (per-key checks, e.g. DeleteObjects); always yes when unenforced. */
  allows: (action: string, resource: string) => Promise<boolean>;
};

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function sendXml(r: Request, status: number, root: string, body: XmlNode): void {
  const text = toXml(root, body);
  r.res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(text) });
  r.res.end(text);
}

export function sendEmpty(r: Request, status: number, headers: Record<string, string | number> = {}): void {
  r.res.writeHead(status, { ...headers, "content-length": 0 });
  r.res.end();
}

export function sendError(r: Request, failure: S3Failure): void {
  if (r.res.headersSent) {
    r.res.destroy(failure);
    return;
  }
  const resource = r.key === "" ? `/${r.bucket}` : `/${r.bucket}/${r.key}`;
  const body = r.req.method === "HEAD" ? "" : errorXml(failure.code, failure.message, resource, r.requestId);
  r.res.writeHead(failure.status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
  r.res.end(body);
}

type ChecksumName = "x-amz-checksum-crc32" | "x-amz-checksum-sha1" | "x-amz-checksum-sha256";
const VERIFIABLE: readonly ChecksumName[] = ["x-amz-checksum-crc32", "x-amz-checksum-sha1", "x-amz-checksum-sha256"];

/** Hashes whatever passes through: MD5 for the ETag, plus the checksums the client announced. */
class Digests extends Transform {
  readonly md5 = createHash("md5");
  private readonly sha = new Map<ChecksumName, Hash>();
  private crc: number | undefined;
  size = 0;

  constructor(wanted: ReadonlySet<ChecksumName>) {
    super();
    if (wanted.has("x-amz-checksum-crc32")) this.crc = 0;
    if (wanted.has("x-amz-checksum-sha1")) this.sha.set("x-amz-checksum-sha1", createHash("sha1"));
    if (wanted.has("x-amz-checksum-sha256")) this.sha.set("x-amz-checksum-sha256", createHash("sha256"));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.md5.update(chunk);
    for (const hash of this.sha.values()) hash.update(chunk);
    if (this.crc !== undefined) this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
    callback(null, chunk);
  }

  checksums(): Map<ChecksumName, string> {
    const out = new Map<ChecksumName, string>();
    for (const [name, hash] of this.sha) out.set(name, hash.digest("base64"));
    if (this.crc !== undefined) {
      const bytes = Buffer.alloc(4);
      bytes.writeUInt32BE(this.crc >>> 0);
      out.set("x-amz-checksum-crc32", bytes.toString("base64"));
    }
    return out;
  }
}

export type ReceivedBody = { size: number; md5Hex: string; md5: Buffer };

/**
 * Streams the request body (decoding aws-chunked) into a file and verifies every checksum the client sent —
 * Content-MD5 and x-amz-checksum-{crc32,sha1,sha256}, as header or trailer — so a corrupting transfer fails loudly.
 */
export async function receiveBody(req: IncomingMessage, file: string): Promise<ReceivedBody> {
  const announced = new Set((header(req, "x-amz-trailer") ?? "").split(",").map((t) => t.trim().toLowerCase()));
  const wanted = new Set(VERIFIABLE.filter((name) => announced.has(name) || header(req, name) !== undefined));
  const digests = new Digests(wanted);
  const decoder = isAwsChunked(req.headers) ? new AwsChunkedDecoder() : undefined;
  const stages = decoder ? [req, decoder, digests] : [req, digests];
  await pipeline([...stages, createWriteStream(file)]);
  const md5 = digests.md5.digest();
  const actual = new Map<string, string>([["content-md5", md5.toString("base64")], ...digests.checksums()]);
  for (const [name, value] of actual) {
    const sent = decoder?.trailers[name] ?? header(req, name);
    if (sent !== undefined && sent !== value) {
      const code = name === "content-md5" ? "BadDigest" : "InvalidRequest";
      throw new S3Failure(400, code, `${name} ${sent} does not match the received body (${value})`);
    }
  }
  const declared = header(req, "x-amz-decoded-content-length");
  if (declared !== undefined && Number(declared) !== digests.size) {
    throw new S3Failure(400, "IncompleteBody", `received ${digests.size} bytes, x-amz-decoded-content-length says ${declared}`);
  }
  return { size: digests.size, md5Hex: md5.toString("hex"), md5 };
}

/** Largest XML request body accepted (DeleteObjects of 1,000 long keys, CompleteMultipartUpload of 10,000 parts). */
const MAX_XML_BODY = 2 * 1024 * 1024;

export async function readXmlBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_XML_BODY) throw new S3Failure(400, "MalformedXML", `XML body larger than ${MAX_XML_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  return parseXml(Buffer.concat(chunks).toString("utf8"));
}
