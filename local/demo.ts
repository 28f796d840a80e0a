/**
 * `npm run demo`: the whole product on this machine. Starts the stand-ins over `.mrsync/`, seeds the demo MySQL
 * database (first run, or after `-- --clean`), runs the real state machine (statemachines/sync-pipeline.asl.json)
 * with the real handlers, prints each table's result and the row counts on both sides, then changes some rows in
 * MySQL and runs again to show that only the delta moves.
 */
import { COMPLETION_MARKERS_PREFIX } from "#domain/s3-layout.ts";
import "./powertools-env.ts";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import mysql from "mysql2/promise";
import { RedshiftData } from "#adapters/redshift-data.ts";
import { loadPipeline } from "#config/loader.ts";
import type { ResolvedPipeline } from "#config/resolve.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { DEFAULT_MYSQL_URL, DEMO_DATABASE, parseRowCount, seedDemo } from "./demo/seed.ts";
import { cleanDataDir, DEFAULT_DATA_DIR, startStandIns, type StandIns } from "./stand-ins.ts";
import { LocalStateMachine, realHandlers, type ExecutionRecord } from "./stepfunctions/runner.ts";

const { values } = parseArgs({
  options: {
    clean: { type: "boolean", default: false },
    orders: { type: "string", default: "200000" },
    "data-dir": { type: "string", default: DEFAULT_DATA_DIR },
  },
});

const root = path.join(import.meta.dirname, "..");
const configDir = path.join(root, "config");
const mysqlUrl = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;
const dataDir = path.resolve(values["data-dir"]);
const pipeline = await loadPipeline(configDir, "demo");

function printResults(execution: ExecutionRecord): RunSummary {
  const summary = (execution.status === "SUCCEEDED" ? execution.output : JSON.parse(execution.cause?.split("\n")[1] ?? "{}")) as RunSummary;
  console.log(`    execution ${execution.name}: ${execution.status} (${summary.status}, ${summary.duration_seconds}s)`);
  console.log(`    ${"table".padEnd(30)} ${"status".padEnd(8)} ${"rows read".padStart(10)} ${"files".padStart(6)} ${"rows loaded".padStart(12)}`);
  for (const [table, result] of Object.entries(summary.table_results)) {
    console.log(
      `    ${table.padEnd(30)} ${result.status.padEnd(8)} ${String(result.rows_processed ?? 0).padStart(10)} ${String(result.files_created ?? 0).padStart(6)} ${String(result.rows_loaded ?? 0).padStart(12)}` +
        (result.error_message === undefined ? "" : `\n      error: ${result.error_message}`),
    );
  }
  return summary;
}

async function printCounts(admin: mysql.Connection, redshift: RedshiftData, target: ResolvedPipeline): Promise<void> {
  console.log(`    ${"table".padEnd(30)} ${"MySQL".padStart(10)} ${"Redshift".padStart(10)}`);
  for (const table of target.tables) {
    const [rows] = await admin.query(`SELECT COUNT(*) AS n FROM \`${table.sourceSchema}\`.\`${table.sourceTable}\``);
    const mysqlCount = Number((rows as { n: unknown }[])[0]?.n ?? 0);
    const warehouse = await redshift.query(`SELECT count(*) FROM "${target.target.schema}"."${table.targetName}"`);
    const redshiftCount = Number(warehouse.rows[0]?.[0] ?? 0);
    console.log(
      `    ${table.key.padEnd(30)} ${String(mysqlCount).padStart(10)} ${String(redshiftCount).padStart(10)}${mysqlCount === redshiftCount ? "" : "   <- differs"}`,
    );
  }
}

/**
 * Changes the demo data the way a live system does: new orders, updated orders, a renamed merchant — committed half a
 * minute ago, so they are outside the settle window (rows newer than NOW() - settle_seconds wait for the next run).
 */
async function changeSomeRows(admin: mysql.Connection): Promise<void> {
  await admin.query(
    `UPDATE ${DEMO_DATABASE}.settle_orders SET status = 'settled', settled_on = CURDATE(), updated_at = ${COMMITTED} WHERE status = 'pending' ORDER BY id LIMIT 500`,
  );
  await admin.query(
    `INSERT INTO ${DEMO_DATABASE}.settle_orders (id, merchant_id, order_ref, amount, fee, currency, status, customer_note, created_at, updated_at, settled_on)
     SELECT o.id + m.top, o.merchant_id, CONCAT(o.order_ref, '-r'), o.amount, o.fee, o.currency, o.status, 'demo delta ✓', ${COMMITTED}, ${COMMITTED}, o.settled_on
       FROM ${DEMO_DATABASE}.settle_orders o CROSS JOIN (SELECT MAX(id) AS top FROM ${DEMO_DATABASE}.settle_orders) m ORDER BY o.id LIMIT 1000`,
  );
  await admin.query(`UPDATE ${DEMO_DATABASE}.merchants SET name = CONCAT(name, ' (renamed)') ORDER BY id LIMIT 1`);
}

const COMMITTED = "NOW(6) - INTERVAL 30 SECOND";

/** When the demo database was created: the folder's warehouse and watermarks only make sense with that database. */
async function databaseCreatedAt(admin: mysql.Connection): Promise<string | undefined> {
  const [rows] = await admin.query(
    "SELECT CAST(create_time AS CHAR) AS t FROM information_schema.tables WHERE table_schema = ? AND table_name = 'settle_orders'",
    [DEMO_DATABASE],
  );
  return (rows as { t: string | null }[])[0]?.t ?? undefined;
}

const stampFile = path.join(dataDir, "demo-source.json");
const buckets = [pipeline.staging.bucket, pipeline.completionBucket].filter((b): b is string => b !== undefined);
let standIns: StandIns | undefined;
const admin = await mysql.createConnection({ uri: mysqlUrl, multipleStatements: false });
try {
  // Reuse the folder only with the database it was synced from (another checkout's demo may have re-seeded it).
  const created = await databaseCreatedAt(admin);
  const stamp = existsSync(stampFile) ? (JSON.parse(await readFile(stampFile, "utf8")) as { createdAt?: string }).createdAt : undefined;
  const startOver = values.clean || created === undefined || stamp !== created;
  if (startOver && existsSync(dataDir)) {
    await cleanDataDir(dataDir);
    console.log(`removed ${path.relative(process.cwd(), dataDir)}${values.clean ? "" : ` (${DEMO_DATABASE} is not the database it was synced from)`}`);
  }
  standIns = await startStandIns({ dataDir, buckets, configDir });
  console.log(`1/5 stand-ins over ${path.relative(process.cwd(), dataDir)}: S3 ${standIns.s3.endpoint}, Redshift Data API ${standIns.redshift.endpoint}`);
  if (startOver) {
    console.log(`2/5 seeding MySQL ${DEMO_DATABASE} (${mysqlUrl.replace(/\/\/[^@]*@/, "//***@")})`);
    const seeded = await seedDemo({ mysqlUrl, orders: parseRowCount("orders", values.orders) });
    console.log(`    ${JSON.stringify(seeded.rows)}`);
    await writeFile(stampFile, JSON.stringify({ database: DEMO_DATABASE, createdAt: await databaseCreatedAt(admin) }));
  } else {
    console.log(`2/5 reusing ${DEMO_DATABASE} and ${path.relative(process.cwd(), dataDir)} from the last demo (npm run demo -- --clean starts over)`);
  }

  Object.assign(process.env, standIns.env, { MRSYNC_CONFIG_DIR: configDir });
  const machine = new LocalStateMachine({
    handlers: await realHandlers(),
    iam: standIns.identities.iam,
  });
  const redshift = new RedshiftData(standIns.redshiftClient, pipeline.target);

  console.log("3/5 sync: the demo pipeline (state machine run locally)");
  const first = printResults(await machine.startExecution({ pipeline: "demo" }));
  await printCounts(admin, redshift, pipeline);

  console.log("4/5 changing MySQL: 500 orders settled, 1,000 new orders, one merchant renamed");
  await changeSomeRows(admin);

  console.log("5/5 incremental sync: only the delta moves (merchants is full_sync: re-read whole)");
  const second = printResults(await machine.startExecution({ pipeline: "demo" }));
  await printCounts(admin, redshift, pipeline);

  const markerBucket = pipeline.completionBucket ?? "";
  const markers = (await standIns.store.listAll(markerBucket, COMPLETION_MARKERS_PREFIX)).filter((o) => o.key.endsWith("completion_marker.txt"));
  console.log(`\nCompletion markers: ${markers.length} in s3://${markerBucket}/${COMPLETION_MARKERS_PREFIX} (e.g. ${markers.at(-1)?.key ?? "none"})`);
  console.log("Explore S3 and the warehouse between runs: npm run local (same folder), then the AWS CLI commands it prints.");
  process.exitCode = first.status === "success" && second.status === "success" ? 0 : 1;
} finally {
  await admin.end();
  await standIns?.close();
}
