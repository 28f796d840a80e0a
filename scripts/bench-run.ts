/**
 * npm run bench:run [-- --postgres] [-- --parallel N]
 *
 * A run's latency and its cost, on the local stack (stand-ins over a temporary folder; the default local warehouse,
 * embedded PGlite, or --postgres for the PostgreSQL server the tests use):
 *
 *   1. first sync of a Sakila-sized pipeline: its 16 tables with Sakila's row counts (47,273 rows; composite keys
 *      where Sakila has them, hybrid on `last_update`), wall time and each table's time;
 *   2. the common case: a pipeline of 20 tables (1,000 rows each) synced once, then 1–10 rows changed in each, then
 *      one measured run: wall time, per-table time, Lambda steps, state transitions and the cost estimate.
 *
 * Database mrsync_bench_run, dropped at the end. Results go to docs/benchmarks.md by hand, with date and machine.
 */
import "../local/powertools-env.ts";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import mysql from "mysql2/promise";
import pg from "pg";
import type { RunSummary } from "#domain/run-summary.ts";
import { DEFAULT_MYSQL_URL } from "#local/demo/seed.ts";
import { startStandIns } from "#local/stand-ins.ts";
import { LocalStateMachine, realHandlers, type ExecutionRecord } from "#local/stepfunctions/runner.ts";

const { values } = parseArgs({ options: { postgres: { type: "boolean", default: false }, parallel: { type: "string" } } });
const DB = "mrsync_bench_run";
const MYSQL_URL = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;
const url = new URL(MYSQL_URL);

/** Sakila's tables, their row counts, and their keys (film_actor and film_category have composite ones). */
const SAKILA: { table: string; rows: number; key: string[] }[] = [
  { table: "actor", rows: 200, key: ["actor_id"] },
  { table: "address", rows: 603, key: ["address_id"] },
  { table: "category", rows: 16, key: ["category_id"] },
  { table: "city", rows: 600, key: ["city_id"] },
  { table: "country", rows: 109, key: ["country_id"] },
  { table: "customer", rows: 599, key: ["customer_id"] },
  { table: "film", rows: 1_000, key: ["film_id"] },
  { table: "film_actor", rows: 5_462, key: ["actor_id", "film_id"] },
  { table: "film_category", rows: 1_000, key: ["film_id", "category_id"] },
  { table: "film_text", rows: 1_000, key: ["film_id"] },
  { table: "inventory", rows: 4_581, key: ["inventory_id"] },
  { table: "language", rows: 6, key: ["language_id"] },
  { table: "payment", rows: 16_049, key: ["payment_id"] },
  { table: "rental", rows: 16_044, key: ["rental_id"] },
  { table: "staff", rows: 2, key: ["staff_id"] },
  { table: "store", rows: 2, key: ["store_id"] },
];
const HOURLY_TABLES = 20;
const HOURLY_ROWS = 1_000;

const admin = await mysql.createConnection({ uri: MYSQL_URL });
await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
await admin.query(`CREATE DATABASE ${DB}`);
/** A table of `rows` rows: its key, a name, an amount, a date and `last_update` a minute apart from 12 days ago. */
async function createTable(table: string, rows: number, key: string[]): Promise<void> {
  const keyColumns = key.map((k) => `${k} INT NOT NULL`).join(", ");
  await admin.query(
    `CREATE TABLE ${DB}.${table} (${keyColumns}, name VARCHAR(45) NOT NULL, amount DECIMAL(5,2) NULL, happened_at DATETIME NULL,
       last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, PRIMARY KEY (${key.join(", ")}), KEY (last_update))`,
  );
  // A composite key: the second column cycles within the first (Sakila's film_actor: ~27 films per actor).
  const keyValues = key.length === 1 ? "seq" : `seq DIV 30 + 1, seq MOD 30 + 1`;
  await admin.query(
    `INSERT INTO ${DB}.${table} SELECT ${keyValues}, CONCAT('name ', seq), IF(seq % 7 = 0, NULL, (seq % 1000) / 100), '2006-02-15 05:05:03' + INTERVAL seq MINUTE,
       NOW() - INTERVAL 12 DAY + INTERVAL seq MINUTE FROM seq_1_to_${rows}`,
  );
}
for (const { table, rows, key } of SAKILA) await createTable(table, rows, key);
for (let i = 1; i <= HOURLY_TABLES; i++) await createTable(`hourly_${String(i).padStart(2, "0")}`, HOURLY_ROWS, ["id"]);

const dir = await mkdtemp(path.join(tmpdir(), "mrsync-bench-run-"));
const configDir = path.join(dir, "config");
await mkdir(path.join(configDir, "pipelines"), { recursive: true });
await writeFile(
  path.join(configDir, "connections.yml"),
  `sources:
  app: { host: "${url.hostname}", port: ${url.port || "3306"}, database: ${DB}, username: "${decodeURIComponent(url.username) || "root"}", password: "${decodeURIComponent(url.password)}" }
targets:
  warehouse: { workgroup_name: local, database: ${values.postgres ? DB : "dev"}, schema: public }
staging:
  stage: { bucket: staging, prefix: incremental/ }
`,
);
const parallel = values.parallel === undefined ? "" : `, processing: { max_parallel_tables: ${values.parallel} }`;
const tableLine = (table: string) => `  ${DB}.${table}: { cdc_strategy: hybrid, cdc_timestamp_column: last_update }`;
await writeFile(
  path.join(configDir, "pipelines", "sakila.yml"),
  `pipeline: { name: sakila, source: app, target: warehouse, staging: stage${parallel} }\ntables:\n${SAKILA.map((t) => tableLine(t.table)).join("\n")}\n`,
);
await writeFile(
  path.join(configDir, "pipelines", "hourly.yml"),
  `pipeline: { name: hourly, source: app, target: warehouse, staging: stage${parallel} }\ntables:\n${Array.from({ length: HOURLY_TABLES }, (_, i) => tableLine(`hourly_${String(i + 1).padStart(2, "0")}`)).join("\n")}\n`,
);

let postgresUrl: string | undefined;
if (values.postgres) {
  const server = process.env.PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const pgAdmin = new pg.Client({ connectionString: server });
  await pgAdmin.connect();
  await pgAdmin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await pgAdmin.query(`CREATE DATABASE ${DB}`);
  await pgAdmin.end();
  postgresUrl = server;
}
const standIns = await startStandIns({
  dataDir: path.join(dir, "data"),
  buckets: ["staging"],
  configDir,
  ...(postgresUrl === undefined ? {} : { postgresUrl }),
});
Object.assign(process.env, standIns.env, { MRSYNC_CONFIG_DIR: configDir });
const steps = new Map<string, number>();
const machine = new LocalStateMachine({
  handlers: await realHandlers(),
  iam: standIns.identities.iam,
  onStep: (step, input) => {
    steps.set(step, (steps.get(step) ?? 0) + 1);
    if (process.env.BENCH_DEBUG === "1")
      console.log(`${(performance.now() - runStarted).toFixed(0).padStart(6)} ms ${step} ${(input as { table?: string }).table ?? ""}`);
  },
});

let runStarted = 0;
async function timedRun(pipeline: string): Promise<{ record: ExecutionRecord; summary: RunSummary; seconds: number }> {
  steps.clear();
  const started = performance.now();
  runStarted = started;
  const record = await machine.startExecution({ pipeline });
  const seconds = (performance.now() - started) / 1000;
  if (record.status !== "SUCCEEDED") throw new Error(`${pipeline}: ${record.status} ${record.error ?? ""} ${record.cause ?? ""}`);
  return { record, summary: record.output as RunSummary, seconds };
}

function report(title: string, run: Awaited<ReturnType<typeof timedRun>>): void {
  const lines = Object.entries(run.summary.table_results).map(([table, line]) => [table.replace(`${DB}.`, ""), line] as const);
  const slowest = [...lines].sort((a, b) => (b[1].duration_seconds ?? 0) - (a[1].duration_seconds ?? 0));
  console.log(`\n## ${title}: ${run.seconds.toFixed(2)} s wall, ${lines.length} tables`);
  console.log(
    `   steps: ${[...steps.entries()].map(([s, n]) => `${s} ${n}`).join(", ")}; state transitions ${run.record.stateTransitions}; history events ${run.record.historyEvents}`,
  );
  const cost = run.summary.cost;
  if (cost !== undefined) {
    console.log(
      `   cost estimate (local timings, base RPU 128): $${cost.total_usd.toFixed(6)} = Step Functions $${cost.step_functions_usd.toFixed(6)} (${cost.state_transitions} transitions)` +
        ` + Lambda $${cost.lambda_usd.toFixed(6)} (${cost.lambda_invocations} calls, ${cost.lambda_gb_seconds} GB-s) + Redshift $${cost.redshift_usd.toFixed(6)}` +
        ` (${cost.redshift_rpu_seconds ?? "-"} RPU-s) + S3 $${cost.s3_usd.toFixed(6)} (${cost.s3_requests} requests)`,
    );
  }
  for (const [table, line] of slowest) {
    console.log(
      `   ${table.padEnd(16)} ${String(line.rows_processed ?? 0).padStart(7)} rows  ${(line.duration_seconds ?? 0).toFixed(2).padStart(6)} s  ${line.status}${process.env.BENCH_DEBUG === "1" ? ` ${JSON.stringify({ ...line, cost: undefined })}` : ""}`,
    );
  }
}

try {
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; warehouse: ${values.postgres ? "PostgreSQL" : "PGlite"}`,
  );
  report("first sync, Sakila-sized (16 tables)", await timedRun("sakila"));
  report("hourly, first sync", await timedRun("hourly"));
  for (let i = 1; i <= HOURLY_TABLES; i++) {
    const table = `${DB}.hourly_${String(i).padStart(2, "0")}`;
    const changed = 1 + ((i * 7) % 10);
    // Committed a minute ago: past the hybrid strategy's settle window, as an hour's changes would be.
    await admin.query(`UPDATE ${table} SET name = CONCAT(name, '*'), last_update = NOW() - INTERVAL 1 MINUTE WHERE id <= ${Math.ceil(changed / 2)}`);
    const inserted = changed - Math.ceil(changed / 2);
    if (inserted > 0) {
      await admin.query(`INSERT INTO ${table} SELECT ${HOURLY_ROWS} + seq, 'new', 1.5, NOW(), NOW() - INTERVAL 1 MINUTE FROM seq_1_to_${inserted}`);
    }
  }
  report(`the common case: ${HOURLY_TABLES} tables, 1–10 changed rows each`, await timedRun("hourly"));
} finally {
  await standIns.close();
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
}
