/**
 * One chunk's Parquet file, streamed to S3 as it is written: row groups go into a multipart upload as soon as they
 * are full, so memory holds at most a part and a row group whatever the chunk's size. A file smaller than one part
 * (UPLOAD_PART_SIZE: most chunks) is held until it is complete and sent as one PUT; a bigger one starts its
 * multipart upload once a part's worth is written. A chunk without rows writes no file.
 */
import { once } from "node:events";
import { PassThrough } from "node:stream";
import { UPLOAD_PART_SIZE, type S3Store, type UploadResult } from "#adapters/s3.ts";
import type { TableColumn } from "#domain/table-schema.ts";
import { dataKey } from "#domain/s3-layout.ts";
import { ParquetWriter, type ParquetWriterOptions } from "#parquet/writer.ts";
import type { RowBytes } from "#parquet/columns.ts";
import { PASS_METADATA, SCHEMA_METADATA, type TableContext } from "./sync-context.ts";

const PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet";

export class ChunkFile {
  private readonly writer: ParquetWriter;
  private readonly s3: S3Store;
  private readonly bucket: string;
  readonly key: string;
  private body: PassThrough | undefined;
  private upload: Promise<UploadResult> | undefined;
  private uploadError: Error | undefined;
  private waiting: Promise<unknown> | undefined;
  private written = 0;
  /** The file's bytes while they are less than a part (then it goes as one PUT, or they start the multipart upload). */
  private held: Buffer[] = [];
  private readonly metadata: Record<string, string>;

  /** `metadata` travels with the object (S3 user metadata): the loader reads each file's schema key from it. */
  constructor(
    s3: S3Store,
    bucket: string,
    key: string,
    columns: readonly TableColumn[],
    options: Partial<ParquetWriterOptions>,
    metadata: Record<string, string> = {},
  ) {
    this.s3 = s3;
    this.bucket = bucket;
    this.key = key;
    this.writer = new ParquetWriter(columns, options);
    this.metadata = metadata;
  }

  get rows(): number {
    return this.writer.totalRows;
  }

  /** Bytes of the file so far, counting the unwritten row group at its uncompressed size (an upper bound). */
  get bytes(): number {
    return this.written + this.writer.bufferedBytes();
  }

  zeroDates(): Record<string, number> {
    return this.writer.zeroDates();
  }

  push(row: readonly unknown[]): void {
    const parts = this.writer.push(row);
    if (parts !== undefined) this.writeAll(parts);
  }

  /** A row as bytes in place (MySQL's packet, read without a value object): as `push`. */
  pushBytes(row: RowBytes): void {
    const parts = this.writer.pushBytes(row);
    if (parts !== undefined) this.writeAll(parts);
  }

  /** A promise to wait for when S3 is slower than MySQL, else undefined. */
  backpressure(): Promise<unknown> | undefined {
    const waiting = this.waiting;
    this.waiting = undefined;
    return waiting;
  }

  private writeAll(parts: readonly Buffer[]): void {
    for (const part of parts) this.write(part);
  }

  private write(bytes: Buffer): void {
    if (this.uploadError !== undefined) throw this.uploadError;
    this.written += bytes.length;
    if (this.body !== undefined) {
      if (!this.body.write(bytes)) this.waiting = once(this.body, "drain");
      return;
    }
    this.held.push(bytes);
    if (this.written < UPLOAD_PART_SIZE) return;
    const held = this.held;
    this.held = [];
    const body = this.startUpload();
    for (const part of held) if (!body.write(part)) this.waiting = once(body, "drain");
  }

  private startUpload(): PassThrough {
    const body = new PassThrough({ highWaterMark: 1024 * 1024 });
    this.body = body;
    this.upload = this.s3.uploadStream(this.bucket, this.key, body, PARQUET_CONTENT_TYPE, this.metadata);
    this.upload.catch((error: unknown) => {
      this.uploadError = error instanceof Error ? error : new Error(`upload of ${this.key} failed: ${JSON.stringify(error)}`);
      body.destroy(this.uploadError);
    });
    return body;
  }

  /** Completes the file; undefined when the chunk had no rows (no object is written then). */
  async finish(): Promise<UploadResult | undefined> {
    if (this.writer.totalRows === 0) return undefined;
    this.writeAll(this.writer.finish());
    if (this.body === undefined) return this.s3.putParts(this.bucket, this.key, this.held, PARQUET_CONTENT_TYPE, this.metadata);
    this.body.end();
    return this.upload;
  }

  /** Abandons the upload (lib-storage aborts a started multipart upload): no partial object is left. */
  async abort(reason: Error): Promise<void> {
    if (this.body === undefined) return;
    this.body.destroy(reason);
    await this.upload?.catch(() => undefined);
  }
}

/**
 * A table's data file number `chunk` of the run started at `runStartedAt` (of a range: numbered in the range), under
 * the pipeline's layout, written with the table's compression and zero-date policy and carrying its schema key and,
 * for a window read again, its pass (the loader groups files by both: a key read twice is merged by two loads in the
 * order read, never by one).
 */
export function tableChunkFile(
  context: TableContext,
  runStartedAt: string,
  chunk: number,
  columns: readonly TableColumn[],
  schemaKey: string,
  of: { pass?: string; range?: number } = {},
): ChunkFile {
  const key = dataKey({
    isolationPrefix: context.pipeline.s3.isolation_prefix,
    stagingPrefix: context.pipeline.staging.prefix,
    partitionStrategy: context.pipeline.s3.partition_strategy,
    table: context.table.key,
    runStartedAt,
    chunk,
    ...(of.range === undefined ? {} : { range: of.range }),
  });
  const options = { compression: context.pipeline.s3.compression, zeroDates: context.table.zero_dates ?? "null" } as const;
  return new ChunkFile(context.s3, context.bucket, key, columns, options, {
    [SCHEMA_METADATA]: schemaKey,
    ...(of.pass === undefined ? {} : { [PASS_METADATA]: of.pass }),
  });
}
