/**
 * npm run scenario:live [-- --seconds 120 --rows 50000]
 *
 * Issue 21's scenario, as a new user would meet it: two tables of 50,000 rows — `orders` (hybrid on `updated_at
 * DATETIME(6) … ON UPDATE CURRENT_TIMESTAMP(6)`, default settle 10 s and lookback 300 s) and `payouts` (id_only on an
 * AUTO_INCREMENT key) — and an application writing for two minutes with five sessions: two autocommit inserts,
 * updates (orders) and deletes; three transactions inserting 1–5 rows into each table, waiting 3–14 s, then
 * committing. Meanwhile the pipeline is synced back to back (the real ASL and handlers, as `mrsync sync --local`);
 * then once 12 s after the writer stopped, once more a settle later; then `mrsync reconcile --local` (delete_policy
 * hard). Prints failed table runs, late rows, and what differs between MySQL and Redshift after each step.
 * Stand-ins over a temporary folder, database mrsync_live_scenario (dropped at the end).
 */
import "../local/powertools-env.ts";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, promisify } from "node:util";
import pg from "pg";
import mysql from "mysql2/promise";
import { RedshiftData } from "#adapters/redshift-data.ts";
import { loadPipeline } from "#config/loader.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { DEFAULT_MYSQL_URL } from "#local/demo/seed.ts";
import { startStandIns } from "#local/stand-ins.ts";
import { LocalStateMachine, realHandlers } from "#local/stepfunctions/runner.ts";
import { runLiveWriter } from "../test/support/live-writer.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "120" }, rows: { type: "string", default: "50000" } } });
const SECONDS = Number(values.seconds);
const ROWS = Number(values.rows);
const DB = "mrsync_live_scenario";
const MYSQL_URL = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;
const url = new URL(MYSQL_URL);

const admin = await mysql.createConnection({ uri: MYSQL_URL, dateStrings: true });
await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
await admin.query(`CREATE DATABASE ${DB}`);
await admin.query(
  `CREATE TABLE ${DB}.orders (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL, note VARCHAR(40) NULL, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), KEY (updated_at, id))`,
);
await admin.query(`CREATE TABLE ${DB}.payouts (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
await admin.query(
  `INSERT INTO ${DB}.orders (id, amount, note, updated_at) SELECT seq, seq / 8, 'seed', NOW(6) - INTERVAL 1 HOUR + INTERVAL seq * 50 MICROSECOND FROM seq_1_to_${ROWS}`,
);
await admin.query(`INSERT INTO ${DB}.payouts (id, amount) SELECT seq, seq / 4 FROM seq_1_to_${ROWS}`);

const dir = await mkdtemp(path.join(tmpdir(), "mrsync-live-"));
await mkdir(path.join(dir, "config", "pipelines"), { recursive: true });
await writeFile(
  path.join(dir, "config", "connections.yml"),
  `sources:
  app: { host: "${url.hostname}", port: ${url.port || "3306"}, database: ${DB}, username: "${decodeURIComponent(url.username) || "root"}", password: "${decodeURIComponent(url.password)}" }
targets:
  warehouse: { workgroup_name: local, database: ${DB}, schema: public }
staging:
  stage: { bucket: staging, prefix: incremental/ }
`,
);
await writeFile(
  path.join(dir, "config", "pipelines", "live.yml"),
  `pipeline: { name: live, source: app, target: warehouse, staging: stage, processing: { max_parallel_tables: 2 } }
tables:
  ${DB}.orders: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, delete_policy: hard }
  ${DB}.payouts: { cdc_strategy: id_only, delete_policy: hard }
`,
);
// The warehouse in a database of its own on the PostgreSQL server the tests use (reconcile's CRC32 is ~50× slower
// on embedded PGlite).
const pgServer = process.env.PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const pgAdmin = new pg.Client({ connectionString: pgServer });
await pgAdmin.connect();
await pgAdmin.query(`DROP DATABASE IF EXISTS ${DB}`);
await pgAdmin.query(`CREATE DATABASE ${DB}`);
// The target's database (connections.yml) is a database of that server.
const standIns = await startStandIns({ dataDir: path.join(dir, "data"), buckets: ["staging"], postgresUrl: pgServer, configDir: path.join(dir, "config") });
Object.assign(process.env, standIns.env, { MRSYNC_CONFIG_DIR: path.join(dir, "config") });
const pipeline = await loadPipeline(path.join(dir, "config"), "live");
const redshift = new RedshiftData(standIns.redshiftClient, pipeline.target);
const machine = new LocalStateMachine({
  handlers: await realHandlers(),
  iam: standIns.identities.iam,
});

const sync = async () => (await machine.startExecution({ pipeline: "live" })).output as RunSummary | undefined;
const failedIn = (summary: RunSummary | undefined) =>
  summary === undefined
    ? ["(no summary)"]
    : Object.entries(summary.table_results)
        .filter(([, line]) => line.status !== "success")
        .map(([t, l]) => `${t}: ${l.error_type ?? ""} ${l.error_message ?? ""}`);
const lateIn = (summary: RunSummary | undefined) => Object.values(summary?.table_results ?? {}).reduce((sum, line) => sum + (line.late_rows ?? 0), 0);

async function differences(deleted: Map<string, Set<number>>): Promise<string> {
  const parts: string[] = [];
  for (const table of ["orders", "payouts"]) {
    const render =
      table === "orders"
        ? [
            "id, CAST(amount AS CHAR), note, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f')",
            "id, amount::text, note, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US')",
          ]
        : ["id, CAST(amount AS CHAR)", "id, amount::text"];
    const [inMysql] = await admin.query({ sql: `SELECT ${render[0] ?? ""} FROM ${DB}.${table}`, rowsAsArray: true });
    const inRedshift = await redshift.query(`SELECT ${render[1] ?? ""} FROM public.${table}`);
    const byId = (rows: readonly unknown[][]) => new Map(rows.map((r) => [Number(r[0]), r.slice(1).map(String).join("|")]));
    const m = byId(inMysql as unknown[][]);
    const r = byId(inRedshift.rows);
    const missing = [...m.keys()].filter((id) => !r.has(id)).length;
    const different = [...m.entries()].filter(([id, row]) => r.has(id) && r.get(id) !== row).length;
    const extra = [...r.keys()].filter((id) => !m.has(id));
    const unexplained = extra.filter((id) => !(deleted.get(table)?.has(id) ?? false)).length;
    parts.push(`${table}: ${missing} missing, ${different} different, ${extra.length} only in Redshift (${unexplained} not deleted in MySQL)`);
  }
  return parts.join("; ");
}

try {
  console.log(`first sync of ${ROWS} rows a table: ${failedIn(await sync()).join(", ") || "ok"}`);
  const state = { writing: true };
  const writer = runLiveWriter({
    database: DB,
    tables: [
      { name: "orders", insert: "(amount, note) VALUES (ROUND(RAND() * 1000, 2), 'live')", update: "amount = amount + 1" },
      { name: "payouts", insert: "(amount) VALUES (ROUND(RAND() * 1000, 2))" },
    ],
    durationMs: SECONDS * 1000,
    autocommitSessions: 2,
    transactionSessions: 3,
    openForMs: { min: 3_000, max: 14_000 },
    deleteBelowId: ROWS,
    seed: 47,
  }).finally(() => (state.writing = false));
  let runs = 0;
  let failed = 0;
  let late = 0;
  while (state.writing) {
    const summary = await sync();
    runs++;
    late += lateIn(summary);
    const failures = failedIn(summary);
    failed += failures.length;
    if (failures.length > 0) console.log(`  run ${runs}: ${failures.join("; ")}`);
  }
  const written = await writer;
  console.log(
    `while writing: ${runs} runs, ${failed} failed table runs, ${late} late rows read again; the writer: ${written.inserted} inserts, ${written.updated} updates, ${written.transactions} long transactions`,
  );
  await sleep(12_000);
  const first = await sync();
  console.log(`12 s after the writer: ${failedIn(first).join(", ") || "ok"} (late ${lateIn(first)}): ${await differences(written.deleted)}`);
  await sleep(10_500);
  const second = await sync();
  console.log(`a settle later: ${failedIn(second).join(", ") || "ok"} (late ${lateIn(second)}): ${await differences(written.deleted)}`);
  // Asynchronously: this process serves the stand-ins the CLI talks to.
  let code = 0;
  try {
    await promisify(execFile)(
      process.execPath,
      [
        path.join(import.meta.dirname, "..", "bin", "mrsync.ts"),
        "--config-dir",
        path.join(dir, "config"),
        "reconcile",
        "-p",
        "live",
        "--local",
        "--allow-mass-delete",
      ],
      { env: process.env },
    );
  } catch (error) {
    code = (error as { code?: number }).code ?? 1;
  }
  console.log(`mrsync reconcile --local: exit ${code}; then: ${await differences(new Map())}`);
} finally {
  await standIns.close();
  await pgAdmin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await pgAdmin.end();
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
}
