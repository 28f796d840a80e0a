/**
 * npm run bench:extract [-- --rows 1000000 --batch 100000 --rounds 3]
 *
 * In one run: seeds (or reuses) a table of N settlement-like rows, then measures, each in a fresh process so peak
 * RSS is its own: (1) raw mysql2 streaming read of the same rows (the source limit), (2) the full extraction —
 * Begin + ExtractChunk until done: MySQL → Parquet → multipart upload to a local S3 server running in another
 * process. Prints rows/s of both (medians of the rounds, which alternate them), their ratio, the CPU each spends per row
 * and the extraction's peak RSS.
 */
import { parseArgs } from "node:util";
import { connectSource, streamQuery } from "#adapters/mysql.ts";
import { begin } from "#services/begin.ts";
import { releaseLease } from "#domain/watermark.ts";
import { updateWatermark } from "#services/sync-context.ts";
import { extractChunk } from "#services/extract-chunk.ts";
import { maxRssMb, report, runPhase } from "./bench-phases.ts";
import { benchContext, benchPipeline, benchRunAt, seedBenchTable, startBenchS3 } from "./bench-source.ts";

const TABLE = "bench_orders";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    batch: { type: "string", default: "100000" },
    rounds: { type: "string", default: "3" },
    phase: { type: "string" },
    endpoint: { type: "string" },
  },
});
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);

/** cpuSeconds: the phase process's CPU (user + system) over the same span — steadier than rows/s on a noisy machine. */
type PhaseResult = { rows: number; seconds: number; cpuSeconds: number; maxRssMb: number };

const cpuSince = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

const pipeline = () => benchPipeline(TABLE, "{ cdc_strategy: id_only, cdc_id_column: id }", BATCH);

async function seed(): Promise<void> {
  await seedBenchTable(TABLE, ROWS, {
    create: `CREATE TABLE ${TABLE} (
    id BIGINT PRIMARY KEY, merchant_id INT NOT NULL, order_ref VARCHAR(64) NOT NULL, note TEXT,
    amount DECIMAL(18,4) NOT NULL, fee DECIMAL(12,6), rate DOUBLE, active TINYINT(1) NOT NULL,
    settled_on DATE, updated_at DATETIME(6) NOT NULL, created_at TIMESTAMP(3) NULL DEFAULT NULL)`,
    insert: `INSERT INTO ${TABLE}
    WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${ROWS})
    SELECT n * 3, n % 5000, CONCAT('ORD-', HEX(n * 7919)), IF(n % 4 = 0, NULL, CONCAT('note for order ', n, ' ✓')),
           (n * 37 % 100000000) / 10000, IF(n % 5 = 0, NULL, (n % 1000000) / 1000000), n / 7,
           n % 2, IF(n % 3 = 0, NULL, DATE_ADD('2020-01-01', INTERVAL n % 2000 DAY)),
           DATE_ADD('2024-01-01', INTERVAL n * 1000003 MICROSECOND), FROM_UNIXTIME(1600000000 + n)
    FROM seq`,
  });
}

async function rawRead(): Promise<PhaseResult> {
  const p = pipeline();
  const connection = await connectSource(p.source, { username: p.source.username ?? "", password: p.source.password ?? "" });
  const started = performance.now();
  const cpu = process.cpuUsage();
  const { rows } = await streamQuery(
    connection,
    { sql: `SELECT * FROM ${TABLE} WHERE id <= ? ORDER BY id LIMIT ?`, params: [BigInt(ROWS) * 3n, ROWS] },
    {
      row: () => true,
      backpressure: () => undefined,
    },
  );
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSince(cpu);
  await connection.end();
  return { rows, seconds, cpuSeconds, maxRssMb: maxRssMb() };
}

async function extract(endpoint: string): Promise<PhaseResult> {
  const context = benchContext(pipeline(), endpoint, TABLE);
  const runId = `bench-${Date.now()}`;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const beginning = await begin(context, runId);
  let rows = 0;
  for (;;) {
    const chunk = await extractChunk(context, { runId, schemaKey: beginning.schemaKey });
    rows += chunk.rows;
    if (chunk.done) break;
  }
  await updateWatermark(context, (current) => releaseLease(current, runId, context.now()));
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSince(cpu);
  context.close();
  return { rows, seconds, cpuSeconds, maxRssMb: maxRssMb() };
}

const runExtractPhase = (phase: string, extra: string[] = []) =>
  runPhase<PhaseResult>(import.meta.filename, ["--phase", phase, "--rows", String(ROWS), "--batch", String(BATCH), ...extra]);

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/** One round: the raw read, then the extraction into a fresh S3 (its own watermark), back to back. */
async function round(): Promise<{ raw: PhaseResult; full: PhaseResult }> {
  const s3 = await startBenchS3();
  try {
    const raw = await runExtractPhase("raw");
    const full = await runExtractPhase("extract", ["--endpoint", s3.endpoint]);
    return { raw, full };
  } finally {
    await s3.stop();
  }
}

async function main(): Promise<void> {
  if (values.phase !== undefined) {
    report(values.phase === "raw" ? await rawRead() : await extract(values.endpoint ?? ""));
    return;
  }
  await seed();
  // This machine's speed drifts ±15 % from minute to minute: rounds alternate the two phases, and the ratio is taken
  // of their medians.
  const rounds: { raw: PhaseResult; full: PhaseResult }[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round());
  const rate = (phase: PhaseResult) => phase.rows / phase.seconds;
  const perRow = (phase: PhaseResult) => (phase.cpuSeconds / phase.rows) * 1e6;
  const rawRate = median(rounds.map((r) => rate(r.raw)));
  const fullRate = median(rounds.map((r) => rate(r.full)));
  console.log(
    JSON.stringify(
      {
        ...benchRunAt(),
        rows: ROWS,
        batch_size: BATCH,
        rounds: ROUNDS,
        raw_read_rows_per_s: Math.round(rawRate),
        raw_read_peak_rss_mb: Math.max(...rounds.map((r) => r.raw.maxRssMb)),
        raw_read_cpu_us_per_row: Number(median(rounds.map((r) => perRow(r.raw))).toFixed(2)),
        extract_rows_per_s: Math.round(fullRate),
        extract_cpu_us_per_row: Number(median(rounds.map((r) => perRow(r.full))).toFixed(2)),
        extract_peak_rss_mb: Math.max(...rounds.map((r) => r.full.maxRssMb)),
        ratio: Number((fullRate / rawRate).toFixed(2)),
        per_round: rounds.map((r) => ({
          raw: Math.round(rate(r.raw)),
          extract: Math.round(rate(r.full)),
          ratio: Number((rate(r.full) / rate(r.raw)).toFixed(2)),
        })),
      },
      null,
      2,
    ),
  );
}

await main();
