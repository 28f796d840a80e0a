/** Multipart uploads: parts staged under <root>/.uploads/<uploadId>/, concatenated and committed on completion. */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { ObjectMeta } from "./folder-store.ts";
import { readXmlBody, receiveBody, S3Failure, sendEmpty, sendXml, type Request } from "./http.ts";
import { metaFromRequest, unquote } from "./object-meta.ts";
import type { S3Operations } from "./operations.ts";

const MIN_PART_SIZE = 5 * 1024 * 1024;

export class MultipartUploads {
  private readonly operations: S3Operations;
  private readonly uploadsDir: string;

  constructor(operations: S3Operations, uploadsDir: string) {
    this.operations = operations;
    this.uploadsDir = uploadsDir;
  }

  private uploadDir(uploadId: string): string {
    if (!/^[0-9a-f-]{36}$/.test(uploadId)) throw new S3Failure(404, "NoSuchUpload", "The specified upload does not exist");
    return path.join(this.uploadsDir, uploadId);
  }

  private async readUpload(r: Request, uploadId: string): Promise<{ dir: string; meta: ObjectMeta }> {
    const dir = this.uploadDir(uploadId);
    const text = await readFile(path.join(dir, "upload.json"), "utf8").catch(() => undefined);
    const meta = text === undefined ? undefined : (JSON.parse(text) as ObjectMeta & { bucket: string });
    if (meta?.bucket !== r.bucket || meta.key !== r.key) {
      throw new S3Failure(404, "NoSuchUpload", "The specified upload does not exist");
    }
    return { dir, meta };
  }

  async createMultipartUpload(r: Request): Promise<void> {
    await this.operations.requireBucket(r.bucket);
    const uploadId = randomUUID();
    const dir = this.uploadDir(uploadId);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "upload.json"), JSON.stringify({ ...metaFromRequest(r, 0, ""), bucket: r.bucket }));
    sendXml(r, 200, "InitiateMultipartUploadResult", { Bucket: r.bucket, Key: r.key, UploadId: uploadId });
  }

  async uploadPart(r: Request, uploadId: string, partNumber: number): Promise<void> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      throw new S3Failure(400, "InvalidArgument", "Part number must be an integer between 1 and 10000");
    }
    const { dir } = await this.readUpload(r, uploadId);
    const temp = this.operations.store.tempFile();
    try {
      const body = await receiveBody(r.req, temp);
      await rename(temp, path.join(dir, `${partNumber}.part`));
      await writeFile(path.join(dir, `${partNumber}.json`), JSON.stringify({ size: body.size, md5: body.md5Hex }));
      sendEmpty(r, 200, { etag: `"${body.md5Hex}"` });
    } finally {
      await rm(temp, { force: true });
    }
  }

  async completeMultipartUpload(r: Request, uploadId: string): Promise<void> {
    const { dir, meta } = await this.readUpload(r, uploadId);
    const parsed = (await readXmlBody(r.req)) as {
      CompleteMultipartUpload?: { Part?: { PartNumber?: string; ETag?: string }[] };
    };
    const parts = parsed.CompleteMultipartUpload?.Part ?? [];
    if (parts.length === 0) throw new S3Failure(400, "MalformedXML", "CompleteMultipartUpload lists no parts");
    const stored = new Set(await readdir(dir));
    const md5s: Buffer[] = [];
    const files: string[] = [];
    let size = 0;
    let previous = 0;
    for (const [index, part] of parts.entries()) {
      const number = Number(part.PartNumber);
      if (!(number > previous)) throw new S3Failure(400, "InvalidPartOrder", "Parts must be listed in ascending order");
      previous = number;
      if (!stored.has(`${number}.json`)) throw new S3Failure(400, "InvalidPart", `Part ${number} was not uploaded`);
      const info = JSON.parse(await readFile(path.join(dir, `${number}.json`), "utf8")) as { size: number; md5: string };
      if (unquote(part.ETag ?? "") !== info.md5) throw new S3Failure(400, "InvalidPart", `Part ${number}: ETag does not match`);
      if (index < parts.length - 1 && info.size < MIN_PART_SIZE) {
        throw new S3Failure(400, "EntityTooSmall", `Part ${number} is ${info.size} bytes; all but the last part need 5 MiB`);
      }
      files.push(path.join(dir, `${number}.part`));
      md5s.push(Buffer.from(info.md5, "hex"));
      size += info.size;
    }
    const temp = this.operations.store.tempFile();
    try {
      await pipeline(async function* concatenate() {
        for (const file of files) yield* createReadStream(file);
      }, createWriteStream(temp));
      const etag = `"${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-${parts.length}"`;
      const objectMeta: ObjectMeta = { ...meta, key: r.key, etag, size, lastModified: new Date().toISOString() };
      await this.operations.commit(r, objectMeta, temp, "ObjectCreated:CompleteMultipartUpload");
      await rm(dir, { recursive: true, force: true });
      sendXml(r, 200, "CompleteMultipartUploadResult", { Location: `/${r.bucket}/${r.key}`, Bucket: r.bucket, Key: r.key, ETag: etag });
    } finally {
      await rm(temp, { force: true });
    }
  }

  async abortMultipartUpload(r: Request, uploadId: string): Promise<void> {
    const { dir } = await this.readUpload(r, uploadId);
    await rm(dir, { recursive: true, force: true });
    sendEmpty(r, 204);
  }
}
