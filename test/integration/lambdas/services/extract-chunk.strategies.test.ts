/**
 * The strategies beyond plain keyset paging — custom_sql, full_sync, lookback — and the budgets and limits that end a
 * chunk early, plus what a value that cannot land does to the run (a clear error; nothing committed).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { begin } from "#services/begin.ts";
import { extractChunk, RowRejectedError } from "#services/extract-chunk.ts";
import { contextFor, extractUntilDone, pipelineFromYaml, runExtraction, useExtractionFixture, type RunOutcome } from "../../../support/extraction.ts";

const DATABASE = "mrsync_test_strategies";
const fx = useExtractionFixture(DATABASE);

beforeAll(async () => {
  await fx.db.admin.query(
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, status VARCHAR(10) NOT NULL, amount DECIMAL(18,4) NOT NULL, note TEXT, updated_at DATETIME(6) NOT NULL, KEY (updated_at, id))",
  );
  const rows = Array.from({ length: 5000 }, (_, i) => [
    i + 1,
    i % 10 === 0 ? "void" : "ok",
    `${i}.${String(i % 10_000).padStart(4, "0")}`,
    i % 3 === 0 ? null : `note ${i}`,
    `2025-03-01 00:${String(Math.floor(i / 100) % 60).padStart(2, "0")}:00.${String(i).padStart(6, "0")}`,
  ]);
  await fx.db.admin.query("INSERT INTO orders (id, status, amount, note, updated_at) VALUES ?", [rows]);
});
const keysOf = (chunks: RunOutcome["chunks"]) => chunks.flatMap((c) => (c.file === undefined ? [] : [c.file]));

async function ids(keys: readonly string[]): Promise<number[]> {
  const rows = await fx.reader.read(await fx.reader.fetch(fx.s3, keys), "id::INTEGER AS id", "ORDER BY id");
  return rows.map((r) => Number(r.id));
}

/** A pipeline whose files and watermarks live under their own prefix, so tests do not share watermarks. */
function pipeline(prefix: string, tableYaml: string) {
  const yaml = pipelineFromYaml(DATABASE, tableYaml);
  return { ...yaml, s3: { ...yaml.s3, isolation_prefix: `${prefix}/` } };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("custom_sql", () => {
  it("binds its named placeholders, pages with them, and writes the query's columns in table order", async () => {
    const sql =
      `SELECT amount, updated_at, id FROM ${DATABASE}.orders WHERE status <> 'void' ` +
      "AND (updated_at > :last_timestamp OR (updated_at = :last_timestamp AND id > :last_id)) " +
      "AND updated_at <= :ceiling_timestamp AND id <= :ceiling_id ORDER BY updated_at, id LIMIT :batch_size";
    const p = pipeline(
      "custom",
      `  ${DATABASE}.orders:\n    cdc_strategy: custom_sql\n    cdc_timestamp_column: updated_at\n    cdc_id_column: id\n    processing: { batch_size: 700 }\n    custom_sql: "${sql}"`,
    );
    const outcome = await runExtraction(contextFor(fx.s3, p, `${DATABASE}.orders`), "run-custom");
    expect(await ids(keysOf(outcome.chunks))).toEqual(range(1, 5000).filter((id) => (id - 1) % 10 !== 0));
    expect(outcome.chunks.length).toBe(Math.ceil(4500 / 700));
    const [first] = await fx.reader.fetch(fx.s3, keysOf(outcome.chunks).slice(0, 1));
    const columns = await fx.reader.query(`SELECT name FROM parquet_schema('${first ?? ""}') WHERE name <> 'schema'`);
    expect(columns.map((c) => c.name)).toEqual(["id", "amount", "updated_at"]);
  });

  it("refuses a query returning a column the table does not have", async () => {
    const p = pipeline(
      "custom-bad",
      `  ${DATABASE}.orders: { cdc_strategy: custom_sql, cdc_id_column: id, custom_sql: "SELECT id, amount * 2 AS doubled FROM ${DATABASE}.orders WHERE id > :last_id ORDER BY id LIMIT :batch_size" }`,
    );
    await expect(begin(contextFor(fx.s3, p, `${DATABASE}.orders`), "run-custom-bad")).rejects.toThrow(
      /custom_sql returns doubled, not column\(s\) of the table/,
    );
  });
});

describe("full_sync", () => {
  it("re-reads the whole table every run, paged on its integer key; files of the earlier run are superseded", async () => {
    const p = pipeline("full", `  ${DATABASE}.orders: { cdc_strategy: full_sync, full_sync_mode: replace, processing: { batch_size: 2000 } }`);
    const context = contextFor(fx.s3, p, `${DATABASE}.orders`);
    const first = await runExtraction(context, "run-full-1");
    expect(first.chunks.map((c) => c.rows)).toEqual([2000, 2000, 1000]);
    const second = await runExtraction(context, "run-full-2");
    expect(await ids(keysOf(second.chunks))).toEqual(range(1, 5000));
    const watermark = (await context.watermarks.get(context.watermarkKey))?.watermark;
    expect(watermark?.s3_state.backup_s3_files.sort()).toEqual(keysOf(second.chunks).sort());
  });

  it("reads a table without a primary key in one chunk", async () => {
    await fx.db.admin.query("CREATE TABLE keyless (code VARCHAR(8), qty INT)");
    await fx.db.admin.query("INSERT INTO keyless VALUES ?", [range(1, 300).map((i) => [`c${i}`, i])]);
    const p = pipeline("keyless", `  ${DATABASE}.keyless: { cdc_strategy: full_sync, full_sync_mode: append, processing: { batch_size: 50 } }`);
    const outcome = await runExtraction(contextFor(fx.s3, p, `${DATABASE}.keyless`), "run-keyless");
    expect(outcome.chunks.map((c) => c.rows)).toEqual([300]);
  });
});

describe("lookback and limits", () => {
  it("lookback_seconds re-reads a window behind the cursor, catching a late commit", async () => {
    const p = pipeline(
      "lookback",
      `  ${DATABASE}.orders: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, cdc_id_column: id, lookback_seconds: 120 }`,
    );
    const context = contextFor(fx.s3, p, `${DATABASE}.orders`);
    await runExtraction(context, "run-lookback-1");
    // A transaction that started before the run commits after it, with an older timestamp than the cursor.
    await fx.db.admin.query("INSERT INTO orders VALUES (900001, 'ok', '1.0000', 'late', '2025-03-01 00:48:30.000000')");
    try {
      const second = await runExtraction(context, "run-lookback-2");
      expect(await ids(keysOf(second.chunks))).toContain(900_001);
    } finally {
      await fx.db.admin.query("DELETE FROM orders WHERE id = 900001");
    }
  });

  it("--limit stops the run after N rows; the next run continues after them", async () => {
    const p = pipeline("limit", `  ${DATABASE}.orders: { cdc_strategy: id_only, cdc_id_column: id, processing: { batch_size: 1000 } }`);
    const context = contextFor(fx.s3, p, `${DATABASE}.orders`);
    const limited = await runExtraction(context, "run-limit-1", { limit: 2500 });
    expect(limited.chunks.map((c) => c.rows)).toEqual([1000, 1000, 500]);
    const rest = await runExtraction(context, "run-limit-2");
    expect(await ids(keysOf(rest.chunks))).toEqual(range(2501, 5000));
  });

  it("ends a chunk at its time budget and at its byte budget, resuming exactly where it stopped", async () => {
    const timed = pipeline("timed", `  ${DATABASE}.orders: { cdc_strategy: id_only, cdc_id_column: id }`);
    const context = contextFor(fx.s3, timed, `${DATABASE}.orders`);
    const started = await begin(context, "run-timed");
    // A deadline already past: each call takes one row, commits, and returns.
    const first = await extractChunk(context, { runId: "run-timed", schemaKey: started.schemaKey, deadline: 0 });
    const second = await extractChunk(context, { runId: "run-timed", schemaKey: started.schemaKey, deadline: 0 });
    expect([first.rows, second.rows, first.done]).toEqual([1, 1, false]);
    const rest = await extractUntilDone(context, "run-timed", started.schemaKey);
    expect(await ids(keysOf([first, second, ...rest]))).toEqual(range(1, 5000));

    await fx.db.admin.query("CREATE TABLE wide (id INT PRIMARY KEY, body MEDIUMTEXT)");
    await fx.db.admin.query("INSERT INTO wide VALUES ?", [range(1, 300).map((i) => [i, `${i}`.padEnd(20_000, "x")])]);
    const wide = pipeline("wide", `  ${DATABASE}.wide: { cdc_strategy: id_only, cdc_id_column: id, processing: { target_file_mb: 1 } }`);
    const outcome = await runExtraction(contextFor(fx.s3, wide, `${DATABASE}.wide`), "run-wide");
    expect(outcome.chunks.length).toBeGreaterThanOrEqual(6);
    expect(outcome.chunks.every((c) => c.bytes <= 1.1 * 1024 * 1024)).toBe(true);
    expect(await ids(keysOf(outcome.chunks))).toEqual(range(1, 300));
  });
});

describe("rows a strategy could never reach", () => {
  it("refuses a NULL cursor column at Begin instead of skipping its rows", async () => {
    await fx.db.admin.query("CREATE TABLE nullable_ts (id INT PRIMARY KEY, updated_at DATETIME(6) NULL)");
    await fx.db.admin.query("INSERT INTO nullable_ts VALUES (1, '2025-01-01 00:00:00'), (2, NULL), (3, NULL)");
    const p = pipeline("nullable", `  ${DATABASE}.nullable_ts: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, cdc_id_column: id }`);
    const context = contextFor(fx.s3, p, `${DATABASE}.nullable_ts`);
    await expect(begin(context, "run-nullable")).rejects.toThrow(
      `${DATABASE}.nullable_ts: 2 row(s) have NULL in cursor column updated_at; hybrid would never sync them. Make updated_at NOT NULL (or backfill it)`,
    );
    expect(await context.watermarks.get(context.watermarkKey), "nothing recorded").toBeUndefined();
  });
});

describe("values that cannot land", () => {
  it("fails the chunk naming table, column and key; the watermark does not move", async () => {
    await fx.db.admin.query("CREATE TABLE too_long (id INT PRIMARY KEY, body MEDIUMTEXT)");
    await fx.db.admin.query("INSERT INTO too_long VALUES (1, 'fine'), (2, REPEAT('é', 40000)), (3, 'fine')");
    const p = pipeline("too-long", `  ${DATABASE}.too_long: { cdc_strategy: id_only, cdc_id_column: id }`);
    const context = contextFor(fx.s3, p, `${DATABASE}.too_long`);
    const started = await begin(context, "run-too-long");
    const failure = extractChunk(context, { runId: "run-too-long", schemaKey: started.schemaKey });
    await expect(failure).rejects.toThrow(RowRejectedError);
    await expect(failure).rejects.toThrow(
      `${DATABASE}.too_long: column body (mediumtext): a value of 80000 bytes exceeds the Redshift column's 65535 bytes at id=2`,
    );
    const watermark = (await context.watermarks.get(context.watermarkKey))?.watermark;
    expect(watermark?.last_processed_id).toBeNull();
    expect(watermark?.s3_state.backup_s3_files).toEqual([]);
    expect(await fx.s3.store.listAll("staging", "too-long/incremental/")).toEqual([]);
  });

  it("zero_dates: fail stops at the first zero date, naming the column", async () => {
    await fx.db.admin.query("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'");
    await fx.db.admin.query("CREATE TABLE zeroes (id INT PRIMARY KEY, d DATE)");
    await fx.db.admin.query("INSERT INTO zeroes VALUES (1, '2024-01-01'), (2, '0000-00-00')");
    const p = pipeline("zeroes", `  ${DATABASE}.zeroes: { cdc_strategy: id_only, cdc_id_column: id, zero_dates: fail }`);
    const context = contextFor(fx.s3, p, `${DATABASE}.zeroes`);
    const started = await begin(context, "run-zeroes");
    await expect(extractChunk(context, { runId: "run-zeroes", schemaKey: started.schemaKey })).rejects.toThrow(
      /column d: zero date 0000-00-00 \(zero_dates: fail\) at id=2/,
    );
  });
});
