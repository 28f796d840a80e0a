/**
 * npm run bench:horizon [-- --reads 2000 --open 50]
 *
 * What the transaction horizon and the source's clock cost Begin (lambdas/adapters/mysql.ts: readSourceClock,
 * readOldestWriteTransaction): each read N times on one session, first with no other transaction open, then with
 * `--open` sessions each holding a write transaction open (one row inserted, uncommitted). Prints the median and p99
 * per read. Every session it opens is closed and its table dropped at the end.
 */
import { parseArgs } from "node:util";
import mysql from "mysql2/promise";
import { readOldestWriteTransaction, readSourceClock } from "#adapters/mysql.ts";
import { DEFAULT_MYSQL_URL } from "#local/demo/seed.ts";

const MYSQL_URL = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;
const DATABASE = "mrsync_bench_horizon";
const { values } = parseArgs({ options: { reads: { type: "string", default: "2000" }, open: { type: "string", default: "50" } } });
const READS = Number(values.reads);
const OPEN = Number(values.open);

async function timed(label: string, read: () => Promise<unknown>): Promise<string> {
  const ms: number[] = [];
  for (let i = 0; i < READS; i++) {
    const start = performance.now();
    await read();
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => (ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0).toFixed(3);
  return `| ${label} | ${at(0.5)} ms | ${at(0.99)} ms |`;
}

const admin = await mysql.createConnection({ uri: MYSQL_URL });
await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
await admin.query(`CREATE DATABASE ${DATABASE}`);
await admin.query(`CREATE TABLE ${DATABASE}.t (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))`);
const reader = await mysql.createConnection({ uri: MYSQL_URL, dateStrings: true });
await reader.query("SET time_zone = '+00:00'");
const rows: string[] = [];
rows.push(await timed("source clock, no transaction open", () => readSourceClock(reader)));
rows.push(await timed("horizon (INNODB_TRX), no transaction open", () => readOldestWriteTransaction(reader)));
const writers = await Promise.all(Array.from({ length: OPEN }, () => mysql.createConnection({ uri: MYSQL_URL })));
for (const writer of writers) {
  await writer.query("BEGIN");
  await writer.query(`INSERT INTO ${DATABASE}.t () VALUES ()`);
}
rows.push(await timed(`horizon (INNODB_TRX), ${OPEN} write transactions open`, () => readOldestWriteTransaction(reader)));
for (const writer of writers) await writer.end();
await reader.end();
await admin.query(`DROP DATABASE ${DATABASE}`);
await admin.end();
console.log(`${READS} reads each, ${new Date().toISOString()}\n| read | median | p99 |\n| --- | ---: | ---: |\n${rows.join("\n")}`);
