/**
 * The one module that talks to S3. Endpoint configuration (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, the SDK's own
 * variables) is the only thing that points it at the local stand-in. Retries are the SDK's (adaptive, bounded);
 * S3 errors become typed errors callers and Step Functions can tell apart.
 */
import { Readable, Transform, type TransformCallback } from "node:stream";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { NotFoundError, PreconditionFailedError } from "#shared/errors.ts";
import { countS3Request } from "#shared/meter.ts";
import { tracer } from "#shared/powertools.ts";

/** Transient S3 errors (throttling, 5xx, timeouts) are retried by the SDK; more attempts only delay a real outage. */
export const S3_MAX_ATTEMPTS = 5;
/** lib-storage part size: S3's minimum, so a Lambda holds at most PART_SIZE × QUEUE_SIZE bytes of an upload. */
export const UPLOAD_PART_SIZE = 8 * 1024 * 1024;
export const UPLOAD_QUEUE_SIZE = 2;

type Env = Readonly<Record<string, string | undefined>>;

export function s3ClientConfig(env: Env = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return {
    retryMode: "adaptive",
    maxAttempts: S3_MAX_ATTEMPTS,
    // A custom endpoint (the local stand-in, or a VPC endpoint URL) is addressed path-style.
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
  };
}

export type Precondition = { ifMatch: string } | { ifNoneMatch: "*" } | undefined;
export type ObjectInfo = { key: string; size: number; etag: string; lastModified: Date | undefined; metadata?: Record<string, string> };
export type UploadResult = { bucket: string; key: string; etag: string; bytes: number };

function isS3Error(error: unknown): error is S3ServiceException {
  return error instanceof S3ServiceException || (error instanceof Error && "$metadata" in error);
}

/** Maps S3's answers to the errors callers branch on; anything else is rethrown unchanged. */
function mapError(error: unknown, bucket: string, key: string, condition = ""): never {
  if (isS3Error(error)) {
    const status = error.$metadata.httpStatusCode;
    if (status === 412 || error.name === "PreconditionFailed" || error.name === "ConditionalRequestConflict") {
      throw new PreconditionFailedError(bucket, key, condition || error.name, { cause: error });
    }
    if (status === 404 && error.name !== "NoSuchBucket") throw new NotFoundError(bucket, key, { cause: error });
  }
  throw error;
}

/**
 * Counts bytes as they stream to S3. (It hashed them too, for no reader: 2–3 % of an extraction's CPU. S3 checks
 * every part's CRC32 the SDK sends; the transfer's integrity needs nothing more.)
 */
class ByteCountStream extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** The header SigV4 takes the payload's hash from, and its value for a payload left out of the signature. */
const CONTENT_SHA256 = "x-amz-content-sha256";
const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

export class S3Store {
  readonly client: S3Client;

  constructor(client: S3Client) {
    this.client = client;
  }

  async getJson(bucket: string, key: string): Promise<{ value: unknown; etag: string }> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = (await response.Body?.transformToString("utf8")) ?? "";
      try {
        return { value: JSON.parse(text) as unknown, etag: response.ETag ?? "" };
      } catch (error) {
        throw new Error(`s3://${bucket}/${key} is not valid JSON: ${(error as Error).message}`, { cause: error });
      }
    } catch (error) {
      return mapError(error, bucket, key);
    }
  }

  /** Writes JSON; with a precondition, only if the object is unchanged (ifMatch) or absent (ifNoneMatch). */
  async putJson(bucket: string, key: string, value: unknown, precondition?: Precondition): Promise<{ etag: string }> {
    return this.putText(bucket, key, `${JSON.stringify(value, null, 2)}\n`, "application/json", precondition);
  }

  async putText(bucket: string, key: string, body: string, contentType = "text/plain; charset=utf-8", precondition?: Precondition): Promise<{ etag: string }> {
    const ifMatch = precondition !== undefined && "ifMatch" in precondition ? precondition.ifMatch : undefined;
    const ifNoneMatch = precondition !== undefined && "ifNoneMatch" in precondition ? "*" : undefined;
    try {
      const response = await this.client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, IfMatch: ifMatch, IfNoneMatch: ifNoneMatch }),
      );
      return { etag: response.ETag ?? "" };
    } catch (error) {
      const condition = ifMatch !== undefined ? `If-Match ${ifMatch}` : ifNoneMatch !== undefined ? "If-None-Match *" : "";
      return mapError(error, bucket, key, condition);
    }
  }

  /**
   * A body already in memory (`parts`, in order) as one PUT, without lib-storage (its stream plumbing and its own
   * copy). Not a stream: the SDK cannot send a stream again, so a transient 500 failed the chunk.
   */
  async putParts(
    bucket: string,
    key: string,
    parts: readonly Buffer[],
    contentType = "application/octet-stream",
    metadata?: Record<string, string>,
  ): Promise<UploadResult> {
    // One Buffer, which the SDK sends again after a transient error. A stream it cannot: a 500 then failed the chunk
    // at once (checked through the faulty proxy), where a Buffer rides it out.
    const body = Buffer.concat(parts);
    const command = new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
      ...(metadata === undefined ? {} : { Metadata: metadata }),
    });
    // The signature leaves the body out (UNSIGNED-PAYLOAD, which S3 takes on any single-chunk PUT): the SDK would
    // SHA-256 the whole Buffer for it (3-4 ms of CPU per 4.3 MB file, docs/benchmarks.md). The body's integrity is the
    // CRC32 the SDK still sends (x-amz-checksum-crc32), which S3 checks.
    command.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers !== undefined) request.headers[CONTENT_SHA256] = UNSIGNED_PAYLOAD;
        return next(args);
      },
      { step: "build", name: "mrsyncUnsignedPayload" },
    );
    try {
      const response = await this.client.send(command);
      return { bucket, key, etag: response.ETag ?? "", bytes: body.length };
    } catch (error) {
      return mapError(error, bucket, key);
    }
  }

  /**
   * Streams a body of unknown length to S3 as a multipart upload (single PUT when small), counting it on the way:
   * memory stays at most UPLOAD_PART_SIZE × UPLOAD_QUEUE_SIZE whatever the body's size.
   */
  async uploadStream(
    bucket: string,
    key: string,
    body: Readable | AsyncIterable<Uint8Array>,
    contentType = "application/octet-stream",
    metadata?: Record<string, string>,
  ): Promise<UploadResult> {
    const counted = new ByteCountStream();
    const source = body instanceof Readable ? body : Readable.from(body);
    source.once("error", (error) => counted.destroy(error));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: bucket, Key: key, Body: source.pipe(counted), ContentType: contentType, ...(metadata === undefined ? {} : { Metadata: metadata }) },
      partSize: UPLOAD_PART_SIZE,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      const result = await upload.done();
      return { bucket, key, etag: result.ETag ?? "", bytes: counted.bytes };
    } catch (error) {
      return mapError(error, bucket, key);
    }
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!(response.Body instanceof Readable)) throw new Error(`s3://${bucket}/${key}: body is not a stream`);
      return response.Body;
    } catch (error) {
      return mapError(error, bucket, key);
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { key, size: response.ContentLength ?? 0, etag: response.ETag ?? "", lastModified: response.LastModified, metadata: response.Metadata ?? {} };
    } catch (error) {
      if (isS3Error(error) && error.$metadata.httpStatusCode === 404) return undefined;
      return mapError(error, bucket, key);
    }
  }

  /** Every object under the prefix, page by page (continuation tokens handled by the SDK paginator). */
  async *list(bucket: string, prefix: string): AsyncGenerator<ObjectInfo> {
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: bucket, Prefix: prefix })) {
        for (const object of page.Contents ?? []) {
          yield { key: object.Key ?? "", size: object.Size ?? 0, etag: object.ETag ?? "", lastModified: object.LastModified };
        }
      }
    } catch (error) {
      mapError(error, bucket, prefix);
    }
  }

  async listAll(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    return Array.fromAsync(this.list(bucket, prefix));
  }

  /** Deletes keys in batches of 1,000; fails naming the keys S3 refused to delete. */
  async delete(bucket: string, keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const response = await this.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      const errors = response.Errors ?? [];
      if (errors.length > 0) {
        const detail = errors.slice(0, 5).map((e) => `${e.Key ?? "?"}: ${e.Code ?? ""} ${e.Message ?? ""}`);
        throw new Error(`could not delete ${errors.length} object(s) from s3://${bucket}: ${detail.join("; ")}`);
      }
      deleted += batch.length;
    }
    return deleted;
  }
}

let defaultStore: S3Store | undefined;

/** The process-wide S3 store (one client per Lambda container, reused across invocations). */
export function s3Store(): S3Store {
  // Traced in Lambda (each S3 call a subsegment); the tracer is a no-op elsewhere.
  if (defaultStore === undefined) {
    const client = tracer.captureAWSv3Client(new S3Client(s3ClientConfig()));
    // Every attempt (retries too: S3 bills each request) counts toward the invoking step's cost estimate.
    client.middlewareStack.add(
      (next, context) => (args) => {
        countS3Request(context.commandName ?? "");
        return next(args);
      },
      { step: "deserialize", name: "mrsyncCostMeter" },
    );
    defaultStore = new S3Store(client);
  }
  return defaultStore;
}
