/**
 * Extraction test fixtures: a MariaDB database per test file, a pipeline built from YAML like a user writes it,
 * the real services wired to the local S3, a recorder of every chunk query, and DuckDB as the independent reader.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { Connection as CallbackConnection, Query } from "mysql2";
import mysql, { type Connection } from "mysql2/promise";
import { parseConnections, parsePipeline } from "#config/loader.ts";
import { resolvePipeline, type ResolvedPipeline } from "#config/resolve.ts";
import { connectSource } from "#adapters/mysql.ts";
import { begin, type BeginResult } from "#services/begin.ts";
import { releaseLease } from "#domain/watermark.ts";
import { updateWatermark } from "#services/sync-context.ts";
import { extractChunk, type ChunkRequest, type ChunkResult } from "#services/extract-chunk.ts";
import { tableContext, type SyncPorts, type TableContext } from "#services/sync-context.ts";
import { DEFAULT_MYSQL_URL } from "#local/demo/seed.ts";
import { afterAll, beforeAll } from "vitest";
import { startTestS3, type LocalS3Fixture } from "./local-s3.ts";

export const MYSQL_URL = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;
export const STAGING_BUCKET = "staging";

export type TestDatabase = { admin: Connection; drop(): Promise<void> };

export async function createDatabase(name: string): Promise<TestDatabase> {
  const admin = await mysql.createConnection({
    uri: MYSQL_URL,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    jsonStrings: true,
    charset: "UTF8MB4_UNICODE_CI",
  });
  await admin.query("SET time_zone = '+00:00', SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'");
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.query(`USE \`${name}\``);
  return {
    admin,
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

/** A pipeline from the YAML of its tables (indented under `tables:`), against the test database. */
export function pipelineFromYaml(database: string, tablesYaml: string, pipelineExtra = ""): ResolvedPipeline {
  const url = new URL(MYSQL_URL);
  const connectionsText = `
sources:
  test_mysql: { host: "${url.hostname}", port: ${url.port || "3306"}, database: ${database}, username: "${decodeURIComponent(url.username) || "root"}", password: "${decodeURIComponent(url.password)}" }
targets:
  test_redshift: { workgroup_name: local, database: dev }
staging:
  test_staging: { bucket: ${STAGING_BUCKET}, prefix: incremental/ }
`;
  const connections = parseConnections("connections.yml", connectionsText, {});
  if (connections.value === undefined) throw new Error(JSON.stringify(connections.issues));
  const pipelineText = `
pipeline:
  name: test_pipeline
  source: test_mysql
  target: test_redshift
  staging: test_staging
  s3: { isolation_prefix: test/ }
${pipelineExtra}
tables:
${tablesYaml}
`;
  const parsed = parsePipeline("pipelines/test.yml", pipelineText, connections.value);
  if (parsed.value === undefined) throw new Error(parsed.issues.map((i) => `${i.yamlPath}: ${i.message}`).join("\n"));
  return resolvePipeline("pipelines/test.yml", parsed.value, connections.value);
}

/**
 * Runs `during` while another session holds `sql` uncommitted — a long transaction, such as a batch insert that took
 * its auto-increment ids before a run's ceiling — then commits it. `sql` names its table with the database.
 */
export async function whileUncommitted(sql: string, during: () => Promise<void>): Promise<void> {
  const session = await mysql.createConnection({ uri: MYSQL_URL });
  try {
    await session.query("BEGIN");
    await session.query(sql);
    await during();
    await session.query("COMMIT");
  } finally {
    await session.end();
  }
}

export type ChunkQueryRecord = { sql: string; rows: number };

/** The services' ports against the test MariaDB and local S3, recording every query and its row count. */
export function testPorts(s3: Pick<LocalS3Fixture, "store">, pipeline: ResolvedPipeline, queries: ChunkQueryRecord[] = []): SyncPorts {
  return {
    s3: s3.store,
    bucket: STAGING_BUCKET,
    now: () => new Date(),
    async connect(access) {
      const connection = await connectSource(pipeline.source, { username: pipeline.source.username ?? "", password: pipeline.source.password ?? "" }, access);
      const raw = (connection as unknown as { connection: CallbackConnection }).connection;
      const query = raw.query.bind(raw) as (...args: unknown[]) => Query;
      (raw as unknown as { query: (...args: unknown[]) => Query }).query = (...args: unknown[]) => {
        const options = args[0] as { sql?: string } | string;
        const record: ChunkQueryRecord = { sql: typeof options === "string" ? options : (options.sql ?? ""), rows: 0 };
        queries.push(record);
        const running = query(...args);
        running.on("result", () => {
          record.rows++;
        });
        return running;
      };
      return connection;
    },
  };
}

export type RunOutcome = { begin: BeginResult; chunks: ChunkResult[] };

/** Begin, ExtractChunk until done, then release the table — what the state machine does in backup_only mode. */
export async function runExtraction(context: TableContext, runId: string, request: Partial<ChunkRequest> = {}, maxChunks = 10_000): Promise<RunOutcome> {
  const started = await begin(context, runId);
  const chunks = await extractUntilDone(context, runId, started.schemaKey, request, maxChunks);
  await updateWatermark(context, (current) => releaseLease(current, runId, context.now()));
  return { begin: started, chunks };
}

export async function extractUntilDone(
  context: TableContext,
  runId: string,
  schemaKey: string,
  request: Partial<ChunkRequest> = {},
  maxChunks = 10_000,
): Promise<ChunkResult[]> {
  const chunks: ChunkResult[] = [];
  for (let i = 0; i < maxChunks; i++) {
    const chunk = await extractChunk(context, { runId, schemaKey, ...request });
    chunks.push(chunk);
    if (chunk.done) return chunks;
  }
  throw new Error(`extraction of ${context.table.key} did not finish in ${maxChunks} chunks`);
}

export function contextFor(s3: LocalS3Fixture, pipeline: ResolvedPipeline, table: string, queries?: ChunkQueryRecord[]): TableContext {
  return tableContext(testPorts(s3, pipeline, queries), pipeline, table);
}

/** Reads Parquet files from the local S3 with DuckDB (an independent reader) into row objects. */
export class ParquetReader {
  private readonly db: DuckDBConnection;
  private readonly dir: string;

  private constructor(db: DuckDBConnection, dir: string) {
    this.db = db;
    this.dir = dir;
  }

  static async create(): Promise<ParquetReader> {
    const instance = await DuckDBInstance.create(":memory:");
    const db = await instance.connect();
    await db.run("SET TimeZone = 'UTC'");
    return new ParquetReader(db, await mkdtemp(path.join(tmpdir(), "mrsync-parquet-")));
  }

  /** Downloads the keys and returns their local paths. */
  async fetch(s3: LocalS3Fixture, keys: readonly string[]): Promise<string[]> {
    const files: string[] = [];
    for (const key of keys) {
      const file = path.join(this.dir, key.replace(/\//g, "__"));
      const body = await s3.store.getStream(STAGING_BUCKET, key);
      await writeFile(file, body);
      files.push(file);
    }
    return files;
  }

  async query(sql: string): Promise<Record<string, unknown>[]> {
    const reader = await this.db.runAndReadAll(sql);
    return reader.getRowObjectsJS();
  }

  /** `SELECT <select> FROM read_parquet([...files])`. */
  async read(files: readonly string[], select = "*", rest = ""): Promise<Record<string, unknown>[]> {
    if (files.length === 0) return [];
    const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(", ");
    return this.query(`SELECT ${select} FROM read_parquet([${list}]) ${rest}`);
  }

  async close(): Promise<void> {
    this.db.closeSync();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export type ExtractionFixture = { s3: LocalS3Fixture; db: TestDatabase; reader: ParquetReader };

/** Registers the file's hooks: a local S3 with the staging bucket, a fresh database, a Parquet reader. */
export function useExtractionFixture(database: string): ExtractionFixture {
  const fixture = {} as ExtractionFixture;
  beforeAll(async () => {
    fixture.s3 = await startTestS3([STAGING_BUCKET]);
    fixture.db = await createDatabase(database);
    fixture.reader = await ParquetReader.create();
  });
  afterAll(async () => {
    await fixture.reader.close();
    await fixture.db.drop();
    await fixture.s3.stop();
  });
  return fixture;
}
