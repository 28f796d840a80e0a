/**
 * Objects in a folder: `<root>/<bucket>/<key segments…>.__meta.json` holds the metadata and names the file of the
 * bytes beside it (`….<uuid>.__obj`, never rewritten). Key segments are URI-encoded so any S3 key maps to a safe path
 * and back. A write stages its bytes in a temp file, renames them to a new body file, then renames the metadata into
 * place — one atomic switch, as S3 is atomic per object: a reader sees the old object or the new one, never the new
 * bytes under the old metadata (a watermark read mid-write would be torn). The old body is removed after the switch;
 * a reader that loses that race reads the metadata again.
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from "node:fs/promises";
import path from "node:path";

export type ObjectMeta = {
  key: string;
  etag: string;
  size: number;
  lastModified: string;
  contentType: string;
  headers: Record<string, string>;
  userMetadata: Record<string, string>;
  /** The body's file name beside the metadata (absent: written before bodies were versioned, `<key>.__obj`). */
  body?: string;
};

const OBJECT_SUFFIX = ".__obj";
const META_SUFFIX = ".__meta.json";
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function encodeSegment(segment: string): string {
  if (segment === "") return "%";
  if (segment === ".") return "%2E";
  if (segment === "..") return "%2E%2E";
  return encodeURIComponent(segment);
}

function decodeSegment(name: string): string {
  return name === "%" ? "" : decodeURIComponent(name);
}

/** S3 orders keys by their UTF-8 bytes, not by JavaScript's UTF-16 code units. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

export class FolderStore {
  readonly root: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.tmpDir = path.join(this.root, ".tmp");
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true });
  }

  isValidBucketName(bucket: string): boolean {
    return BUCKET_NAME.test(bucket) && bucket !== ".tmp";
  }

  private bucketDir(bucket: string): string {
    return path.join(this.root, bucket);
  }

  private objectBase(bucket: string, key: string): string {
    return path.join(this.bucketDir(bucket), ...key.split("/").map(encodeSegment));
  }

  async listBuckets(): Promise<{ name: string; created: Date }[]> {
    const entries = await readdir(this.root, { withFileTypes: true });
    const buckets = entries.filter((e) => e.isDirectory() && this.isValidBucketName(e.name));
    return Promise.all(buckets.map(async (e) => ({ name: e.name, created: (await stat(path.join(this.root, e.name))).birthtime })));
  }

  async bucketExists(bucket: string): Promise<boolean> {
    if (!this.isValidBucketName(bucket)) return false;
    return stat(this.bucketDir(bucket)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  async createBucket(bucket: string): Promise<void> {
    await mkdir(this.bucketDir(bucket), { recursive: true });
  }

  async deleteBucket(bucket: string): Promise<void> {
    await rm(this.bucketDir(bucket), { recursive: true });
  }

  /** A temp file path for staging a body before it is committed with commitObject. */
  tempFile(): string {
    return path.join(this.tmpDir, randomUUID());
  }

  async commitObject(bucket: string, meta: ObjectMeta, bodyFile: string): Promise<void> {
    const base = this.objectBase(bucket, meta.key);
    await mkdir(path.dirname(base), { recursive: true });
    const previous = await this.getMeta(bucket, meta.key);
    const body = `${path.basename(base)}.${randomUUID()}${OBJECT_SUFFIX}`;
    const metaTmp = this.tempFile();
    await writeFile(metaTmp, JSON.stringify({ ...meta, body }));
    await rename(bodyFile, path.join(path.dirname(base), body));
    await rename(metaTmp, base + META_SUFFIX);
    if (previous !== undefined) await rm(this.bodyPath(bucket, previous), { force: true });
  }

  async getMeta(bucket: string, key: string): Promise<ObjectMeta | undefined> {
    try {
      return JSON.parse(await readFile(this.objectBase(bucket, key) + META_SUFFIX, "utf8")) as ObjectMeta;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  private bodyPath(bucket: string, meta: ObjectMeta): string {
    const base = this.objectBase(bucket, meta.key);
    return meta.body === undefined ? base + OBJECT_SUFFIX : path.join(path.dirname(base), meta.body);
  }

  /**
   * The object's current metadata and an open handle on its bytes, consistent with each other: when a write replaced
   * the object between reading its metadata and opening its body, the metadata is read again. Undefined: no object.
   */
  async openObject(bucket: string, key: string): Promise<{ meta: ObjectMeta; body: FileHandle } | undefined> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const meta = await this.getMeta(bucket, key);
      if (meta === undefined) return undefined;
      try {
        return { meta, body: await open(this.bodyPath(bucket, meta), "r") };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    throw new Error(`${bucket}/${key}: replaced 100 times while being opened`);
  }

  async deleteObject(bucket: string, key: string): Promise<boolean> {
    const base = this.objectBase(bucket, key);
    const meta = await this.getMeta(bucket, key);
    await rm(base + META_SUFFIX, { force: true });
    if (meta !== undefined) await rm(this.bodyPath(bucket, meta), { force: true });
    return meta !== undefined;
  }

  /** Every key under the prefix, sorted as S3 sorts. Walks only the folder the prefix's directory part names. */
  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const slash = prefix.lastIndexOf("/");
    const dirSegments = slash < 0 ? [] : prefix.slice(0, slash).split("/");
    const start = path.join(this.bucketDir(bucket), ...dirSegments.map(encodeSegment));
    const keys: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (entry.isDirectory()) {
          await walk(path.join(dir, entry.name), `${keyPrefix}${decodeSegment(entry.name)}/`);
        } else if (entry.name.endsWith(META_SUFFIX)) {
          const key = keyPrefix + decodeSegment(entry.name.slice(0, -META_SUFFIX.length));
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
    };
    await walk(start, slash < 0 ? "" : `${prefix.slice(0, slash)}/`);
    return keys.sort(compareKeys);
  }

  async isBucketEmpty(bucket: string): Promise<boolean> {
    return (await this.listKeys(bucket, "")).length === 0;
  }
}
