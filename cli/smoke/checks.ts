/**
 * The post-deploy smoke check (README, "Deploying"): on a pipeline of throwaway tables (`mrsync_smoke…` databases,
 * `mrsync_smoke_…` targets), seeds MySQL with every §7 type and a table of orders, then runs the state machine and
 * checks what real AWS would break first: every type loads exactly, two tables load at once, a table over its history
 * budget continues in a child execution, and a load that failed runs again at once (a new ClientToken per attempt).
 */
import { Readable } from "node:stream";
import type { Connection } from "mysql2/promise";
import { queryRow } from "#adapters/mysql.ts";
import type { RedshiftData } from "#adapters/redshift-data.ts";
import type { S3Store } from "#adapters/s3.ts";
import type { ResolvedPipeline, ResolvedTable } from "#config/resolve.ts";
import { quotedTable } from "#domain/cdc/types.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import type { TableSummary } from "#domain/run-summary.ts";
import { seedDemo } from "#local/demo/seed.ts";
import type { TableContext } from "#services/sync-context.ts";
import { getWatermark } from "#services/watermarks.ts";
import type { Execution, Runner } from "../executions.ts";

export const SMOKE_DATABASE_PREFIX = "mrsync_smoke";
export const SMOKE_TARGET_PREFIX = "mrsync_smoke_";
/** Rows seeded: several chunks at the smoke pipeline's batch size, so chunk_budget 1 must continue in a child. */
export const SMOKE_ROWS = { typeCoverage: 1_200, orders: 2_000, merchants: 5 } as const;

export type SmokeCheck = { name: string; ok: boolean; detail: string };

/** What makes a pipeline safe and sufficient for the smoke check (it drops and re-creates its tables on both sides). */
export function smokeProblems(pipeline: ResolvedPipeline): string[] {
  const problems = pipeline.tables.flatMap((t) => [
    ...(t.sourceSchema.startsWith(SMOKE_DATABASE_PREFIX)
      ? []
      : [`${t.key}: the smoke check re-creates its source tables; only a database named ${SMOKE_DATABASE_PREFIX}… is allowed`]),
    ...(t.targetName.startsWith(SMOKE_TARGET_PREFIX)
      ? []
      : [`${t.key}: the smoke check drops its target tables; target_name must start with ${SMOKE_TARGET_PREFIX}`]),
  ]);
  for (const table of ["type_coverage", "settle_orders"]) {
    if (!pipeline.tables.some((t) => t.sourceTable === table))
      problems.push(`the pipeline needs a table <${SMOKE_DATABASE_PREFIX}…>.${table} (config/examples/pipelines/smoke.yml)`);
  }
  if (pipeline.maxParallelTables < 2) problems.push("processing.max_parallel_tables must be at least 2 (two tables load at once)");
  return problems;
}

export type SmokePorts = {
  pipeline: ResolvedPipeline;
  run: Runner;
  /** A write session on the source (the smoke tables are re-created). */
  mysql: Connection;
  redshift: RedshiftData;
  s3: S3Store;
  bucket: string;
  context(table: string): TableContext;
  onProgress?: (message: string) => void;
};

const tableOf = (pipeline: ResolvedPipeline, name: string): ResolvedTable => {
  const table = pipeline.tables.find((t) => t.sourceTable === name);
  if (table === undefined) throw new Error(`no ${name} table (smokeProblems checks this first)`);
  return table;
};

async function mysqlCount(mysql: Connection, table: ResolvedTable): Promise<number> {
  const row = await queryRow(mysql, { sql: `SELECT COUNT(*) FROM ${quotedTable(table)}`, params: [] });
  return Number(row?.[0] ?? -1);
}

async function redshiftCount(ports: SmokePorts, table: ResolvedTable): Promise<number> {
  const { rows } = await ports.redshift.query(`SELECT count(*) FROM ${quoteRedshift(ports.pipeline.target.schema)}.${quoteRedshift(table.targetName)}`);
  return Number(rows[0]?.[0] ?? -1);
}

/** A table's line passed: loaded, validated, and Redshift holds what MySQL holds. */
async function landed(ports: SmokePorts, execution: Execution, table: ResolvedTable): Promise<{ ok: boolean; detail: string }> {
  const line: TableSummary | undefined = execution.summary?.table_results[table.key];
  if (line?.status !== "success")
    return {
      ok: false,
      detail: `${table.key}: ${line?.status ?? execution.status}: ${line?.error_type ?? execution.error ?? ""} ${line?.error_message ?? ""}`.trim(),
    };
  const [mysql, redshift] = [await mysqlCount(ports.mysql, table), await redshiftCount(ports, table)];
  const validated = /^passed/.test(line.validation ?? "");
  const ok = validated && mysql === redshift;
  return { ok, detail: `${table.key}: ${mysql} rows in MySQL, ${redshift} in Redshift, validation ${line.validation ?? "none"}` };
}

/** Drops what an earlier smoke run left: the target tables, and the tables' watermarks (their cursors and files). */
async function prepare(ports: SmokePorts): Promise<void> {
  const databases = [...new Set(ports.pipeline.tables.map((t) => t.sourceSchema))];
  for (const database of databases) {
    ports.onProgress?.(`seeding MySQL ${database}`);
    await seedDemo({ connection: ports.mysql, database, ...SMOKE_ROWS });
  }
  for (const table of ports.pipeline.tables) {
    await ports.redshift.query(`DROP TABLE IF EXISTS ${quoteRedshift(ports.pipeline.target.schema)}.${quoteRedshift(table.targetName)}`);
    await ports.s3.delete(ports.bucket, [ports.context(table.key).watermarkKey]);
  }
}

/**
 * Replaces a table's pending files with a few bytes of themselves, metadata kept (so nothing the load checks before
 * submitting notices, and Redshift's COPY fails reading them); returns what puts them back.
 */
async function corruptFiles(ports: SmokePorts, keys: readonly string[]): Promise<() => Promise<void>> {
  const originals: { key: string; body: Buffer; metadata: Record<string, string> | undefined }[] = [];
  for (const key of keys) {
    const info = await ports.s3.head(ports.bucket, key);
    const chunks: Buffer[] = [];
    for await (const chunk of await ports.s3.getStream(ports.bucket, key)) chunks.push(chunk as Buffer);
    originals.push({ key, body: Buffer.concat(chunks), metadata: info?.metadata });
  }
  for (const { key, body, metadata } of originals)
    await ports.s3.uploadStream(ports.bucket, key, Readable.from([body.subarray(0, 16)]), "application/octet-stream", metadata);
  return async () => {
    for (const { key, body, metadata } of originals)
      await ports.s3.uploadStream(ports.bucket, key, Readable.from([body]), "application/octet-stream", metadata);
  };
}

export async function runSmoke(ports: SmokePorts): Promise<SmokeCheck[]> {
  const { pipeline } = ports;
  const types = tableOf(pipeline, "type_coverage");
  const orders = tableOf(pipeline, "settle_orders");
  const checks: SmokeCheck[] = [];
  await prepare(ports);

  ports.onProgress?.("run 1: every table at once, each continuing in a child execution after one chunk");
  const first = await ports.run({ pipeline: pipeline.name, chunk_budget: 1 });
  const typesLanded = await landed(ports, first, types);
  const ordersLanded = await landed(ports, first, orders);
  checks.push({
    name: "every §7 type loads exactly",
    ...typesLanded,
    detail: `${typesLanded.detail}${types.validation.content_checksum ? "" : " (content_checksum off: counts only)"}`,
  });
  checks.push({
    name: "two tables load at once",
    ok: typesLanded.ok && ordersLanded.ok,
    detail: `${first.name}, max_parallel_tables ${pipeline.maxParallelTables}: ${ordersLanded.detail}`,
  });
  checks.push({
    name: "a table over its history budget continues in a child execution",
    ok: first.children > 0 && typesLanded.ok,
    detail: `${first.children} child execution(s) of ${first.name}`,
  });

  ports.onProgress?.("runs 2-4: a load that fails, then runs again at once");
  await ports.mysql.query(`UPDATE ${quotedTable(orders)} SET updated_at = NOW(6) - INTERVAL 20 SECOND, fee = NULL WHERE id <= 50`);
  const staged = await ports.run({ pipeline: pipeline.name, tables: [orders.key], mode: "backup_only" });
  const pending = (await getWatermark(ports.context(orders.key)))?.s3_state.backup_s3_files ?? [];
  let retried: SmokeCheck;
  if (staged.status !== "SUCCEEDED" || pending.length === 0) {
    retried = { name: "a failed load runs again at once", ok: false, detail: `backup_only ${staged.name} ${staged.status}, ${pending.length} file(s) pending` };
  } else {
    const restore = await corruptFiles(ports, pending);
    const failed = await ports.run({ pipeline: pipeline.name, tables: [orders.key], mode: "redshift_only" });
    await restore();
    const again = await ports.run({ pipeline: pipeline.name, tables: [orders.key], mode: "redshift_only" });
    const loaded = await landed(ports, again, orders);
    const failedLine = failed.summary?.table_results[orders.key];
    retried = {
      name: "a failed load runs again at once",
      ok: failedLine?.status === "failed" && loaded.ok,
      detail: `${failed.name}: ${failedLine?.status ?? failed.status} (${(failedLine?.error_message ?? "").slice(0, 120)}); ${again.name}: ${loaded.detail}`,
    };
  }
  checks.push(retried);
  return checks;
}
