/**
 * npm run bench:ranges [-- --rows 10000000 --readers 1,2,4 --batch 100000]
 *
 * A table with a composite (INT, DATE) key and uneven key density — half its rows under 2,500 dense merchants, half
 * spread over 250,000 sparse ones — read whole by 1, 2 and 4 readers at once, each a process of its own (as each range
 * is a Lambda of its own) running the extraction's own range reader (services/extract-chunk.ts readRange: MySQL →
 * Parquet → multipart upload to a local S3 server in another process) over one key range planned by
 * services/key-ranges.ts. Prints, per reader count: the plan's time and its ranges' rows, the wall time, rows/s of the
 * table, each reader's rows/s and peak RSS, and the CPU MariaDB spent. On a 2-core machine MariaDB, the S3 server and
 * the readers share two cores: the readers' rate is the CPU's, not the source's I/O (docs/benchmarks.md).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { queryRow } from "#adapters/mysql.ts";
import { strategyContext, strategyFor, type Position } from "#domain/cdc/index.ts";
import type { KeyRange } from "#domain/ranges.ts";
import { checkedTableSchema } from "#services/begin.ts";
import { tableChunkFile } from "#services/chunk-file.ts";
import { readRange } from "#services/extract-chunk.ts";
import { planKeyRanges } from "#services/key-ranges.ts";
import { saveSchema } from "#services/sync-context.ts";
import { maxRssMb, report, runPhase } from "./bench-phases.ts";
import { BENCH_DATABASE, benchContext, benchPipeline, benchRunAt, seedBenchTable, startBenchS3 } from "./bench-source.ts";

const TABLE = "bench_ranges";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "10000000" },
    readers: { type: "string", default: "1,2,4" },
    batch: { type: "string", default: "100000" },
    phase: { type: "string" },
    endpoint: { type: "string" },
    range: { type: "string" },
  },
});
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);

type ReadResult = { index: number; rows: number; bytes: number; files: number; seconds: number; maxRssMb: number };

const pipeline = () => benchPipeline(TABLE, "{ cdc_strategy: id_only, cdc_id_column: [merchant_id, day] }", BATCH);

async function seed(): Promise<void> {
  // The first half: 2,000 days under each of 2,500 merchants; the second: 20 days under each of 250,000 more.
  const half = Math.floor(ROWS / 2);
  await seedBenchTable(TABLE, ROWS, {
    create: `CREATE TABLE ${TABLE} (
    merchant_id INT NOT NULL, day DATE NOT NULL, order_ref VARCHAR(64) NOT NULL, note TEXT,
    amount DECIMAL(18,4) NOT NULL, fee DECIMAL(12,6), rate DOUBLE, settled TINYINT(1) NOT NULL,
    updated_at DATETIME(6) NOT NULL, PRIMARY KEY (merchant_id, day))`,
    insert: `INSERT INTO ${TABLE}
    WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < ${ROWS - 1})
    SELECT IF(n < ${half}, n DIV 2000, 1000000 + n DIV 20), DATE_ADD('2000-01-01', INTERVAL IF(n < ${half}, n % 2000, n % 20) DAY),
           CONCAT('ORD-', HEX(n * 7919)), IF(n % 4 = 0, NULL, CONCAT('settlement note ', n)),
           (n * 37 % 100000000) / 10000, IF(n % 5 = 0, NULL, (n % 1000000) / 1000000), n / 7, n % 2,
           DATE_ADD('2024-01-01', INTERVAL n * 1000003 MICROSECOND)
    FROM seq`,
  });
}

/** One reader: its range, chunk after chunk, as ExtractChunk reads a window (no watermark: the bench owns the run). */
async function readOneRange(endpoint: string, range: KeyRange): Promise<ReadResult> {
  const ctx = benchContext(pipeline(), endpoint, TABLE);
  const connection = await ctx.connect();
  const schema = await checkedTableSchema(ctx, connection);
  const strategy = strategyFor(ctx.table, schema);
  // The last range runs to the table's ceiling, as a run's window does (the greatest key when it began).
  const end = range.upTo === null ? strategy.ceilingOf(await queryRow(connection, strategy.ceilingQuery())) : { timestamp: null, key: range.upTo };
  await connection.end();
  const schemaKey = await saveSchema(ctx, schema);
  const runStartedAt = new Date().toISOString();
  let cursor: Position = { timestamp: null, key: range.after };
  let rows = 0;
  let bytes = 0;
  let files = 0;
  const started = performance.now();
  for (let chunk = 0; ; chunk++) {
    const file = tableChunkFile(ctx, runStartedAt, chunk, schema.columns, schemaKey, { range: range.index });
    const budget = { rows: BATCH, bytes: 128 * 2 ** 20, deadline: Infinity };
    const read = await readRange(ctx, { strategy, schema, file, cursor, end, budget, limitLeft: Infinity }, () => Promise.resolve(undefined));
    rows += read.rows;
    bytes += read.uploaded?.bytes ?? 0;
    files += read.uploaded === undefined ? 0 : 1;
    cursor = read.cursor;
    if (read.complete) break;
  }
  ctx.close();
  return { index: range.index, rows, bytes, files, seconds: (performance.now() - started) / 1000, maxRssMb: maxRssMb() };
}

/** MariaDB's CPU seconds so far (its process's user + system time). */
function mariadbCpuSeconds(): number | undefined {
  try {
    const pid = execFileSync("pgrep", ["-o", "-x", "mariadbd"], { encoding: "utf8" }).trim();
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  if (values.phase === "read") {
    report(await readOneRange(values.endpoint ?? "", JSON.parse(values.range ?? "{}") as KeyRange));
    return;
  }
  await seed();
  const s3 = await startBenchS3();
  const endpoint = s3.endpoint;
  const ctx = benchContext(pipeline(), endpoint, TABLE);
  const connection = await ctx.connect();
  const schema = await checkedTableSchema(ctx, connection);
  const keyed = {
    key: ctx.table.key,
    schema: BENCH_DATABASE,
    table: TABLE,
    from: strategyContext(ctx.table, schema).from,
    keyColumns: strategyContext(ctx.table, schema).key,
  };
  const results = [];
  try {
    for (const readers of values.readers.split(",").map(Number)) {
      const planning = performance.now();
      const ranges = await planKeyRanges(connection, keyed, readers, readers);
      const planSeconds = (performance.now() - planning) / 1000;
      const cpuBefore = mariadbCpuSeconds();
      const started = performance.now();
      const reads = await Promise.all(
        ranges.map((range) =>
          runPhase<ReadResult>(import.meta.filename, [
            "--phase",
            "read",
            "--rows",
            String(ROWS),
            "--batch",
            String(BATCH),
            "--endpoint",
            endpoint,
            "--range",
            JSON.stringify(range),
          ]),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      const cpuAfter = mariadbCpuSeconds();
      const rows = reads.reduce((sum, r) => sum + r.rows, 0);
      if (rows !== ROWS) throw new Error(`${readers} reader(s) read ${rows} rows of ${ROWS}`);
      results.push({
        readers,
        plan_seconds: Number(planSeconds.toFixed(2)),
        planned_rows: ranges.map((r) => r.rows),
        seconds: Number(seconds.toFixed(1)),
        rows_per_s: Math.round(rows / seconds),
        mb_per_s: Number((reads.reduce((sum, r) => sum + r.bytes, 0) / 2 ** 20 / seconds).toFixed(1)),
        per_reader: reads.map((r) => ({ rows: r.rows, rows_per_s: Math.round(r.rows / r.seconds), peak_rss_mb: r.maxRssMb })),
        mariadb_cpu_seconds: cpuBefore === undefined || cpuAfter === undefined ? null : Number((cpuAfter - cpuBefore).toFixed(1)),
      });
    }
  } finally {
    await connection.end();
    ctx.close();
    await s3.stop();
  }
  console.log(
    JSON.stringify(
      {
        ...benchRunAt(),
        rows: ROWS,
        batch_size: BATCH,
        results,
      },
      null,
      2,
    ),
  );
}

await main();
