/**
 * What every step of a table shares: the table's resolved config, its I/O ports (a MySQL connection factory, the
 * S3 store, the clock), its watermark (read and changed through readWatermark/updateWatermark) and its schemas.
 */
import { createHash } from "node:crypto";
import type { Connection } from "mysql2/promise";
import type { ResolvedPipeline, ResolvedTable } from "#config/resolve.ts";
import { forgetDiscovered, isUnknownColumn, type SourceAccess } from "#adapters/mysql.ts";
import type { S3Store } from "#adapters/s3.ts";
import { WatermarkStore, type StoredWatermark } from "#adapters/watermark-store.ts";
import { schemaKey, watermarkKey } from "#domain/s3-layout.ts";
import { TableSchemaSchema, type TableSchema } from "#domain/table-schema.ts";
import type { Watermark } from "#domain/watermark.ts";

/** S3 user metadata on each Parquet file: the key of the schema it was written with (files of different runs may differ). */
export const SCHEMA_METADATA = "mrsync-schema";
/**
 * S3 user metadata on the files of a window read again: which re-read they belong to. Such a pass may hold keys an
 * earlier file holds too (id_only's cursor is the key: the merge could not tell the newer copy), so it loads alone.
 */
export const PASS_METADATA = "mrsync-pass";

/** How long a run holds its table without committing a chunk (renewed at every chunk). */
export const LEASE_SECONDS = 2 * 3600;

export type SyncPorts = {
  s3: S3Store;
  /** The staging bucket (config, or the stack's bucket). */
  bucket: string;
  /** A source session: read-only unless `write` (the temp-table pattern's cleanup is the one writer). */
  connect(access?: SourceAccess): Promise<Connection>;
  now(): Date;
};

export type TableContext = SyncPorts & {
  pipeline: ResolvedPipeline;
  table: ResolvedTable;
  watermarks: WatermarkStore;
  watermarkKey: string;
};

export function tableContext(ports: SyncPorts, pipeline: ResolvedPipeline, tableKey: string): TableContext {
  const table = pipeline.tables.find((t) => t.key === tableKey);
  if (table === undefined) {
    const known = pipeline.tables.map((t) => t.key).join(", ");
    throw new Error(`pipeline ${pipeline.name} has no table ${tableKey}; its tables: ${known}`);
  }
  return {
    ...ports,
    pipeline,
    table,
    watermarks: new WatermarkStore(ports.s3, ports.bucket),
    watermarkKey: watermarkKey(pipeline.s3.isolation_prefix, pipeline.name, table.key),
  };
}

export const watermarkIdentity = (context: TableContext) => ({
  pipeline: context.pipeline.name,
  table: context.table.key,
  strategy: context.table.cdc_strategy,
});

/** The table's watermark, or undefined before its first run. */
export async function readWatermark(context: TableContext): Promise<Watermark | undefined> {
  return (await readStoredWatermark(context))?.watermark;
}

/** The table's watermark with its ETag: what a later update may write on without reading it again. */
export function readStoredWatermark(context: TableContext): Promise<StoredWatermark | undefined> {
  return context.watermarks.get(context.watermarkKey);
}

/**
 * The table's watermark after `change` (a conditional write, made again on a concurrent change: WatermarkStore);
 * `known`: the watermark as read earlier in this step, written on first (a changed one fails the condition: re-read).
 */
export function updateWatermark(context: TableContext, change: (current: Watermark) => Watermark, known?: StoredWatermark): Promise<Watermark> {
  return context.watermarks.update(context.watermarkKey, watermarkIdentity(context), change, undefined, known);
}

/**
 * `work` on a source session, which is closed after it whatever happens (read-only unless `access` says "write": the
 * temp-table pattern's cleanup is the one writer). A failure to close is not the caller's: the work is done.
 */
export async function withSource<T>(context: Pick<SyncPorts, "connect">, work: (connection: Connection) => Promise<T>, access?: SourceAccess): Promise<T> {
  const connection = await context.connect(access);
  try {
    return await work(connection);
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/**
 * `work` on a read-only source session that reads the table by the columns Begin discovered. A column dropped since
 * then ("Unknown column") makes the next run discover the table again instead of failing until the cache expires.
 */
export function withTableSource<T>(context: TableContext, work: (connection: Connection) => Promise<T>): Promise<T> {
  return withSource(context, async (connection) => {
    try {
      return await work(connection);
    } catch (error) {
      if (isUnknownColumn(error)) forgetDiscovered(connection, context.table.sourceSchema, context.table.sourceTable);
      throw error;
    }
  });
}

/** Files waiting for a load (the next SubmitLoad takes them). */
export async function pendingFiles(context: TableContext): Promise<number> {
  return (await readWatermark(context))?.s3_state.backup_s3_files.length ?? 0;
}

export function schemaFingerprint(schema: TableSchema): string {
  return createHash("sha256").update(JSON.stringify(schema)).digest("hex").slice(0, 16);
}

/** Stores the run's schema once (content-addressed), so its chunks and its load all use the same one. */
export async function saveSchema(context: TableContext, schema: TableSchema): Promise<string> {
  const key = schemaKey(context.pipeline.s3.isolation_prefix, context.pipeline.name, context.table.key, schemaFingerprint(schema));
  if ((await context.s3.head(context.bucket, key)) === undefined) await context.s3.putJson(context.bucket, key, schema);
  return key;
}

const schemas = new Map<string, TableSchema>();

/** A run's schema by key; immutable objects, so cached for the container's life. */
export async function loadSchema(context: TableContext, key: string): Promise<TableSchema> {
  const cached = schemas.get(key);
  if (cached !== undefined) return cached;
  const { value } = await context.s3.getJson(context.bucket, key);
  const parsed = TableSchemaSchema.safeParse(value);
  if (!parsed.success) throw new Error(`s3://${context.bucket}/${key} is not a table schema (${parsed.error.issues[0]?.message ?? "?"}); re-run Begin`);
  const schema = parsed.data;
  schemas.set(key, schema);
  return schema;
}
