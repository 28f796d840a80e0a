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
import { AccessDenied } from "../iam/authorizer.ts";
import { LOCAL_IDENTITY_HEADER } from "../iam/runtime.ts";
import { signingAccessKey, StsFailure, type LocalIdentities } from "../redshift/identities.ts";

export type { S3ObjectEvent } from "./operations.ts";

export type LocalS3Options = {
  /** Folder holding the buckets; created if missing. */
  rootDir: string;
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Buckets created at start (kept if they exist). */
  buckets?: readonly string[];
  /**
   * Who holds which key, and the stack's IAM when enforced (shared with the local Data API, whose STS issues the
   * sessions): each request is then allowed or refused as IAM would, its bucket policy included.
   */
  identities?: LocalIdentities;
};

export type LocalS3 = {
  endpoint: string;
  port: number;
  rootDir: string;
  events: EventEmitter<S3Events>;
  close(): Promise<void>;
};

/** The IAM actions a request needs, on which resources, with which condition keys (per-key ones in the operation). */
function permissionsOf(r: Request): { action: string; resource: string; context?: Record<string, string> }[] {
  const method = r.req.method ?? "GET";
  const q = r.query;
  const bucketArn = `arn:aws:s3:::${r.bucket}`;
  const objectArn = `${bucketArn}/${r.key}`;
  if (r.bucket === "") return [{ action: "s3:ListAllMyBuckets", resource: "*" }];
  if (r.key === "") {
    if (method === "PUT") return [{ action: "s3:CreateBucket", resource: bucketArn }];
    if (method === "DELETE") return [{ action: "s3:DeleteBucket", resource: bucketArn }];
    if (method === "POST") return [];
    if (method === "GET" && q.has("location")) return [{ action: "s3:GetBucketLocation", resource: bucketArn }];
    return [{ action: "s3:ListBucket", resource: bucketArn, context: { "s3:prefix": q.get("prefix") ?? "" } }];
  }
  if (method === "GET" || method === "HEAD") return [{ action: "s3:GetObject", resource: objectArn }];
  if (method === "DELETE") return [{ action: q.has("uploadId") ? "s3:AbortMultipartUpload" : "s3:DeleteObject", resource: objectArn }];
  const copySource = header(r.req, "x-amz-copy-source");
  const source =
    copySource === undefined
      ? []
      : [{ action: "s3:GetObject", resource: `arn:aws:s3:::${decodeURIComponent(copySource.replace(/^\//, "").split("?")[0] ?? "")}` }];
  return [{ action: "s3:PutObject", resource: objectArn }, ...source];
}

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

function toRequest(req: IncomingMessage, res: ServerResponse, identities: LocalIdentities | undefined): Request {
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
    allows: async (action, resource) => {
      if (identities?.iam === undefined) return true;
      const caller = identities.caller(accessKeyOf(req, url.searchParams), header(req, LOCAL_IDENTITY_HEADER));
      try {
        await identities.authorize(caller, action, resource, SECURE_TRANSPORT);
        return true;
      } catch (error) {
        if (error instanceof AccessDenied) return false;
        throw error;
      }
    },
  };
}

/** The access key a request is signed with: its Authorization header, or a presigned URL's X-Amz-Credential. */
function accessKeyOf(req: IncomingMessage, query: URLSearchParams): string | undefined {
  return signingAccessKey(req.headers.authorization) ?? query.get("X-Amz-Credential")?.split("/")[0];
}

/**
 * The SDK reaches S3 over TLS on AWS; the stand-in is plain HTTP on loopback, so its requests count as TLS (a bucket
 * policy's aws:SecureTransport deny applies to what would not be).
 */
const SECURE_TRANSPORT = { "aws:SecureTransport": "true" };

/** Refuses a request IAM does not allow, as S3 answers it (403 AccessDenied). */
async function authorize(r: Request, identities: LocalIdentities | undefined): Promise<void> {
  if (identities?.iam === undefined) return;
  let caller;
  try {
    caller = identities.caller(accessKeyOf(r.req, r.query), header(r.req, LOCAL_IDENTITY_HEADER));
  } catch (error) {
    if (error instanceof StsFailure) throw new S3Failure(403, error.code === "ExpiredToken" ? "ExpiredToken" : "InvalidAccessKeyId", error.message);
    throw error;
  }
  for (const { action, resource, context } of permissionsOf(r)) {
    try {
      await identities.authorize(caller, action, resource, { ...SECURE_TRANSPORT, ...context });
    } catch (error) {
      if (error instanceof AccessDenied) throw new S3Failure(403, "AccessDenied", error.message);
      throw error;
    }
  }
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const store = new FolderStore(options.rootDir);
  await store.init();
  for (const bucket of options.buckets ?? []) await store.createBucket(bucket);
  const ops = new S3Operations(store);

  const server = createServer((req, res) => {
    let r: Request;
    try {
      r = toRequest(req, res, options.identities);
    } catch {
      const body = errorXml("InvalidURI", "Couldn't parse the specified URI.", req.url ?? "", "");
      res.writeHead(400, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res.setHeader("x-amz-request-id", r.requestId);
    authorize(r, options.identities)
      .then(() => route(ops, r))
      .catch((error: unknown) => {
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
