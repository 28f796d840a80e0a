/**
 * An S3-compatible server on loopback backed by a folder — the local stand-in for the staging and completion
 * buckets. Path-style requests only; signatures are not checked. What it adds over the candidates measured in
 * docs/local-s3.md: aws-chunked bodies decoded and checksums verified, conditional writes (412), >1,000-key
 * listings, real multipart ETags, and object events for tests.
 */
import { randomUUID } from "node:crypto";
import type { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FolderStore } from "./folder-store.ts";
import { errorXml } from "./xml.ts";
import { header, S3Failure, sendError, type Request } from "./http.ts";
import { S3Operations, type S3Events } from "./operations.ts";

export type { S3ObjectEvent } from "./operations.ts";

export type LocalS3Options = {
  /** Folder holding the buckets; created if missing. */
  rootDir: string;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Buckets created at start (kept if they exist). */
  buckets?: readonly string[];
};

export type LocalS3 = {
  endpoint: string;
  port: number;
  rootDir: string;
  events: EventEmitter<S3Events>;
  close(): Promise<void>;
};

async function route(ops: S3Operations, r: Request): Promise<void> {
  const method = r.req.method ?? "GET";
  const q = r.query;
  if (r.bucket === "") {
    if (method === "GET") return ops.listBuckets(r);
    throw new S3Failure(405, "MethodNotAllowed", `${method} / is not supported`);
  }
  if (r.key === "") {
    if (method === "PUT") return ops.createBucket(r);
    if (method === "HEAD") return ops.headBucket(r);
    if (method === "DELETE") return ops.deleteBucket(r);
    if (method === "POST" && q.has("delete")) return ops.deleteObjects(r);
    if (method === "GET" && q.has("location")) return ops.getBucketLocation(r);
    if (method === "GET") return ops.listObjects(r);
    throw new S3Failure(501, "NotImplemented", `${method} on a bucket with ${q.toString() || "no query"} is not supported`);
  }
  const uploadId = q.get("uploadId");
  if (method === "PUT" && uploadId !== null) return ops.multipart.uploadPart(r, uploadId, Number(q.get("partNumber")));
  if (method === "PUT") {
    const copySource = header(r.req, "x-amz-copy-source");
    return copySource === undefined ? ops.putObject(r) : ops.copyObject(r, copySource);
  }
  if (method === "GET" || method === "HEAD") return ops.getObject(r, method === "HEAD");
  if (method === "DELETE" && uploadId !== null) return ops.multipart.abortMultipartUpload(r, uploadId);
  if (method === "DELETE") return ops.deleteObject(r);
  if (method === "POST" && q.has("uploads")) return ops.multipart.createMultipartUpload(r);
  if (method === "POST" && uploadId !== null) return ops.multipart.completeMultipartUpload(r, uploadId);
  throw new S3Failure(501, "NotImplemented", `${method} on an object with ${q.toString() || "no query"} is not supported`);
}

function toRequest(req: IncomingMessage, res: ServerResponse): Request {
  const url = new URL(req.url ?? "/", "http://localhost");
  // Path-style: /<bucket>/<key…>; the key keeps its slashes and is percent-decoded once.
  const [, bucket = "", ...keyParts] = url.pathname.split("/");
  return {
    req,
    res,
    bucket: decodeURIComponent(bucket),
    key: decodeURIComponent(keyParts.join("/")),
    query: url.searchParams,
    requestId: randomUUID().replace(/-/g, "").slice(0, 16).toUpperCase(),
  };
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const store = new FolderStore(options.rootDir);
  await store.init();
  for (const bucket of options.buckets ?? []) await store.createBucket(bucket);
  const ops = new S3Operations(store);

  const server = createServer((req, res) => {
    let r: Request;
    try {
      r = toRequest(req, res);
    } catch {
      const body = errorXml("InvalidURI", "Couldn't parse the specified URI.", req.url ?? "", "");
      res.writeHead(400, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.setHeader("x-amz-request-id", r.requestId);
    route(ops, r).catch((error: unknown) => {
      // The client hung up mid-response (e.g. it stopped reading a body): nothing to answer.
      if ((error as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE") return;
      const failure = error instanceof S3Failure ? error : new S3Failure(500, "InternalError", error instanceof Error ? error.message : String(error));
      if (failure.status === 500) console.error(`[local-s3] ${req.method ?? ""} ${req.url ?? ""}:`, error);
      sendError(r, failure);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${address}:${port}`,
    port,
    rootDir: store.root,
    events: ops.events,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}
