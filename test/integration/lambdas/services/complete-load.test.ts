/**
 * Loading, exactly once, end to end on the demo data: MySQL → Parquet on the local S3 → local Redshift through the
 * production loader and Data API adapter; every column of every demo table compared cell by cell with MySQL.
 */
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { DescribeStatementCommand } from "@aws-sdk/client-redshift-data";
import { forgetDiscovered } from "#adapters/mysql.ts";
import { RedshiftStatementError } from "#adapters/redshift-data.ts";
import type { ResolvedPipeline } from "#config/resolve.ts";
import { seedDemo } from "#local/demo/seed.ts";
import { ParquetWriter } from "#parquet/writer.ts";
import { completeLoad, loadFiles } from "#services/complete-load.ts";
import type { LoadContext } from "#services/load.ts";
import { submitLoad } from "#services/submit-load.ts";
import { forgetLegacyLedgers } from "#services/ledger.ts";
import { validateWindows, ValidationError } from "#services/validate.ts";
import { loadSchema, SCHEMA_METADATA } from "#services/sync-context.ts";
import { getWatermark } from "#services/watermarks.ts";
import { tableDifferences } from "../../../support/compare.ts";
import { contextFor, MYSQL_URL, pipelineFromYaml, runExtraction, STAGING_BUCKET, useExtractionFixture, type RunOutcome } from "../../../support/extraction.ts";
import { useWarehouseFixture } from "../../../support/warehouse.ts";

const DATABASE = "mrsync_test_load";
const fx = useExtractionFixture(DATABASE);
const warehouse = useWarehouseFixture(DATABASE, () => fx.s3.store);
let pipeline: ResolvedPipeline;

beforeAll(async () => {
  await seedDemo({ mysqlUrl: MYSQL_URL, database: DATABASE, orders: 3_000, typeCoverage: 1_200, merchants: 50 });
  pipeline = pipelineFromYaml(
    DATABASE,
    `  ${DATABASE}.settle_orders: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, cdc_id_column: id, lookback_seconds: 0, processing: { batch_size: 1000 }, validation: { content_checksum: true } }
  ${DATABASE}.type_coverage: { cdc_strategy: id_only, cdc_id_column: id, processing: { batch_size: 500 } }
  ${DATABASE}.merchants: { cdc_strategy: full_sync, full_sync_mode: replace, processing: { batch_size: 20 } }`,
  );
});

const context = (table: string): LoadContext => ({ ...contextFor(fx.s3, pipeline, `${DATABASE}.${table}`), redshift: warehouse.redshift });

/** Loads every pending file of the table (the state machine's submit → poll → complete loop). */
async function loadPending(ctx: LoadContext): Promise<number> {
  let rows = 0;
  for (let submission = await submitLoad(ctx); submission !== undefined; submission = await submitLoad(ctx)) {
    const state = submission.statementId === null ? undefined : await ctx.redshift.wait(submission.statementId);
    rows += await completeLoad(ctx, submission, state);
  }
  return rows;
}

let lastRun: RunOutcome | undefined;

async function sync(table: string, runId: string, ctx = context(table)): Promise<number> {
  lastRun = await runExtraction(ctx, runId);
  return loadPending(ctx);
}

/** Validates the window the last synced run of the table extracted (as listed in its watermark). */
const validateLast = async (ctx: LoadContext) => {
  const windows = (await getWatermark(ctx))?.s3_state.pending_validation ?? [];
  const last = windows.filter((w) => w.run_id === lastRun?.begin.runId);
  expect(last, "the run listed its window for validation").toHaveLength(1);
  return validateWindows(ctx, last);
};

async function differences(table: string): Promise<string[]> {
  const ctx = context(table);
  const watermark = await getWatermark(ctx);
  const schemaKey = (await fx.s3.store.listAll(STAGING_BUCKET, `test/schemas/${pipeline.name}/${DATABASE}.${table}/`)).at(-1)?.key ?? "";
  expect(watermark, "synced before comparing").toBeDefined();
  return tableDifferences(fx.db.admin, `${DATABASE}.${table}`, warehouse.redshift, `public.${table}`, await loadSchema(ctx, schemaKey));
}

const count = async (table: string) => Number((await warehouse.redshift.query(`SELECT count(*) FROM public.${table}`)).rows[0]?.[0]);

describe("load into Redshift (local), end to end", () => {
  it("lands every column of every demo table equal to the source, and validates", async () => {
    expect(await sync("settle_orders", "run-1-orders")).toBe(3_000);
    const orders = await validateLast(context("settle_orders"));
    expect(orders.counts).toEqual({ mysql: 3_000, extracted: 3_000, redshift: 3_000, duplicateKeys: 0 });
    expect(orders.checksums?.redshift).toBe(orders.checksums?.mysql);
    expect(Number(orders.checksums?.mysql)).toBeGreaterThan(0);
    expect(await sync("type_coverage", "run-1-types")).toBe(1_200);
    expect((await validateLast(context("type_coverage"))).counts).toEqual({ mysql: 1_200, extracted: 1_200, redshift: 1_200, duplicateKeys: 0 });
    expect(await sync("merchants", "run-1-merchants")).toBe(50);
    expect((await validateLast(context("merchants"))).counts).toEqual({ mysql: undefined, extracted: 50, redshift: 50, duplicateKeys: 0 });
    for (const table of ["settle_orders", "type_coverage", "merchants"]) expect(await differences(table), table).toEqual([]);
    const watermark = await getWatermark(context("settle_orders"));
    expect(watermark?.s3_state.backup_s3_files).toEqual([]);
    expect(watermark?.s3_state.processed_s3_files).toHaveLength(3);
    expect(watermark?.redshift_state).toMatchObject({ status: "success", rows_loaded: 3_000 });
  });

  it("applies a load once: a crash after the commit, then a resume, leaves no duplicate", async () => {
    await fx.db.admin.query(`INSERT INTO ${DATABASE}.type_coverage (id, c_varchar) VALUES (2000000000000, 'new'), (2000000000001, 'newer')`);
    const ctx = context("type_coverage");
    await runExtraction(ctx, "run-2-types");
    const submission = await submitLoad(ctx);
    await warehouse.redshift.wait(submission?.statementId ?? "");
    // The process dies here: committed in Redshift, the watermark still lists the files as pending.
    expect((await getWatermark(ctx))?.s3_state.backup_s3_files).toEqual(await loadFiles(ctx, submission!));
    const resumed = await submitLoad(ctx);
    expect(resumed?.loadId).toBe(submission?.loadId);
    expect(resumed?.statementId, "the ledger knows the load: nothing is submitted").toBeNull();
    expect(await completeLoad(ctx, resumed!)).toBe(2);
    expect(await count("type_coverage")).toBe(1_202);
    expect(await differences("type_coverage")).toEqual([]);
    expect((await getWatermark(ctx))?.s3_state.backup_s3_files).toEqual([]);
  });

  it("a load the shared ledger of earlier versions holds (committed before the upgrade) is applied, never applied again", async () => {
    await fx.db.admin.query(`INSERT INTO ${DATABASE}.type_coverage (id, c_varchar) VALUES (2000000000009, 'upgrade')`);
    const ctx = context("type_coverage");
    await runExtraction(ctx, "run-upgrade-types");
    // The load commits; then its ledger row is moved to where an earlier version kept it: the schema's one ledger.
    const pending = await submitLoad(ctx);
    await warehouse.redshift.wait(pending?.statementId ?? "");
    const before = await count("type_coverage");
    await warehouse.redshift.query(
      `CREATE TABLE public.mrsync_load_ledger (load_id VARCHAR(256) NOT NULL, pipeline VARCHAR(128) NOT NULL, table_name VARCHAR(256) NOT NULL, files INTEGER NOT NULL, rows_loaded BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL, PRIMARY KEY (load_id))`,
    );
    await warehouse.redshift.query(
      `INSERT INTO public.mrsync_load_ledger SELECT * FROM public.mrsync_ledger__type_coverage WHERE load_id = '${pending?.loadId ?? ""}'`,
    );
    await warehouse.redshift.query(`DELETE FROM public.mrsync_ledger__type_coverage WHERE load_id = '${pending?.loadId ?? ""}'`);
    // This process looked for a shared ledger before there was one (a deployed function never sees one appear).
    forgetLegacyLedgers();
    const resumed = await submitLoad(ctx);
    expect(resumed?.loadId).toBe(pending?.loadId);
    expect(resumed?.statementId, "the shared ledger knows the load: nothing is submitted").toBeNull();
    expect(await completeLoad(ctx, resumed!)).toBe(1);
    expect(await count("type_coverage")).toBe(before);
    await warehouse.redshift.query("DROP TABLE public.mrsync_load_ledger");
  });

  it("changes nothing when the same load's statements run again", async () => {
    await fx.db.admin.query(`INSERT INTO ${DATABASE}.type_coverage (id, c_varchar) VALUES (2000000000002, 'again')`);
    const ctx = context("type_coverage");
    await runExtraction(ctx, "run-3-types");
    const submission = await submitLoad(ctx);
    await completeLoad(ctx, submission!, await warehouse.redshift.wait(submission?.statementId ?? ""));
    const before = await count("type_coverage");
    // Replay the very statements (same manifest, same load id) without the loader's ledger check.
    const described = await warehouse.client.send(new DescribeStatementCommand({ Id: submission?.statementId ?? undefined }));
    const replay = await warehouse.redshift.submit((described.SubStatements ?? []).map((sub) => sub.QueryString ?? ""));
    await warehouse.redshift.wait(replay);
    expect(await count("type_coverage")).toBe(before);
    expect(await differences("type_coverage")).toEqual([]);
  });

  it("keeps the newest version when one load holds several versions of a row", async () => {
    const ctx = context("settle_orders");
    await fx.db.admin.query(`UPDATE ${DATABASE}.settle_orders SET status = 'failed', updated_at = '2026-01-01 00:00:00' WHERE id IN (1, 2, 3)`);
    await runExtraction(ctx, "run-versions-a");
    await fx.db.admin.query(`UPDATE ${DATABASE}.settle_orders SET status = 'settled', updated_at = '2026-02-01 00:00:00' WHERE id IN (1, 2, 3)`);
    await runExtraction(ctx, "run-versions-b");
    expect((await getWatermark(ctx))?.s3_state.backup_s3_files).toHaveLength(2);
    expect(await loadPending(ctx)).toBe(3);
    const rows = await warehouse.redshift.query("SELECT id, status FROM public.settle_orders WHERE id IN (1, 2, 3) ORDER BY id");
    expect(rows.rows).toEqual([
      [1, "settled"],
      [2, "settled"],
      [3, "settled"],
    ]);
    expect(await differences("settle_orders")).toEqual([]);
  });

  it("replaces updated rows: one row per key, with the new values", async () => {
    await fx.db.admin.query(
      `UPDATE ${DATABASE}.settle_orders SET amount = amount + 1, status = 'refunded', updated_at = '2026-03-01 00:00:00.000001' WHERE id % 7 = 0`,
    );
    const updated = Number(((await fx.db.admin.query(`SELECT count(*) AS n FROM ${DATABASE}.settle_orders WHERE id % 7 = 0`))[0] as { n: number }[])[0]?.n);
    expect(await sync("settle_orders", "run-2-orders")).toBe(updated);
    expect(await count("settle_orders")).toBe(3_000);
    expect(await differences("settle_orders")).toEqual([]);
  });

  it("keeps the old table when a full_sync replace fails mid-way", async () => {
    // The replace deletes, then inserts: a NULL into a NOT NULL column fails the insert after the delete ran.
    await warehouse.redshift.query('ALTER TABLE public.merchants ALTER COLUMN "name" SET NOT NULL');
    await fx.db.admin.query(`ALTER TABLE ${DATABASE}.merchants MODIFY name VARCHAR(100) NULL`);
    await fx.db.admin.query(`UPDATE ${DATABASE}.merchants SET name = NULL WHERE id = 7`);
    const before = await warehouse.redshift.query("SELECT id, name FROM public.merchants ORDER BY id");
    const ctx = context("merchants");
    await runExtraction(ctx, "run-2-merchants");
    await expect(loadPending(ctx)).rejects.toThrow(RedshiftStatementError);
    expect(await warehouse.redshift.query("SELECT id, name FROM public.merchants ORDER BY id")).toEqual(before);
    expect((await getWatermark(ctx))?.s3_state.backup_s3_files.length, "files still pending").toBeGreaterThan(0);
  });

  it("fails a COPY whose file does not fit, naming the reason, and keeps the files pending", async () => {
    const ctx = context("settle_orders");
    const watermark = await getWatermark(ctx);
    const schemaKey = (await fx.s3.store.head(STAGING_BUCKET, watermark?.s3_state.processed_s3_files[0] ?? ""))?.metadata?.[SCHEMA_METADATA] ?? "";
    const schema = await loadSchema(ctx, schemaKey);
    // A file claiming the table's schema, with an order_ref longer than its VARCHAR(256): Redshift refuses it whole.
    const writer = new ParquetWriter(schema.columns.map((c) => (c.name === "order_ref" ? { ...c, value: { kind: "string" as const, maxBytes: 1000 } } : c)));
    const row = schema.columns.map((c) => (c.name === "id" ? "99" : c.name === "order_ref" ? "x".repeat(300) : null));
    writer.push(row);
    const key = "test/incremental/hand-made/too_long.parquet";
    await fx.s3.store.uploadStream(STAGING_BUCKET, key, Readable.from(writer.finish()), "application/vnd.apache.parquet", { [SCHEMA_METADATA]: schemaKey });
    await ctx.watermarks.update(ctx.watermarkKey, { pipeline: pipeline.name, table: ctx.table.key, strategy: "hybrid" }, (current) => ({
      ...current,
      s3_state: { ...current.s3_state, backup_s3_files: [key] },
    }));
    await expect(loadPending(ctx)).rejects.toThrow(/String length exceeds DDL length: column 'order_ref' \(VARCHAR\(256\)\) got a value of 300 bytes/);
    expect((await getWatermark(ctx))?.s3_state.backup_s3_files).toEqual([key]);
    expect(await count("settle_orders")).toBe(3_000);
    await ctx.watermarks.update(ctx.watermarkKey, { pipeline: pipeline.name, table: ctx.table.key, strategy: "hybrid" }, (current) => ({
      ...current,
      s3_state: { ...current.s3_state, backup_s3_files: [] },
    }));
  });

  it("reports a row of the run's window missing in Redshift as late, with the numbers: its window is read again, not failed", async () => {
    await fx.db.admin.query(`INSERT INTO ${DATABASE}.type_coverage (id, c_varchar) VALUES ?`, [
      [1, 2, 3, 4, 5].map((i) => [String(3_000_000_000_000 + i), `v${i}`]),
    ]);
    const ctx = context("type_coverage");
    expect(await sync("type_coverage", "run-validate", ctx)).toBe(5);
    await warehouse.redshift.query("DELETE FROM public.type_coverage WHERE id = 3000000000003");
    const report = await validateLast(ctx);
    expect(report.problems).toEqual([]);
    expect(report.counts).toMatchObject({ mysql: 5, extracted: 5, redshift: 4 });
    expect(report.late).toEqual([expect.objectContaining({ mysqlRows: 5, loadedRows: 4 })]);
  });

  it("fails validation when the content checksum differs though the counts agree", async () => {
    const rows = [1, 2, 3].map((i) => [
      String(8_000_000_000_000_000 + i),
      1,
      `CHK-${i}`,
      "1.0000",
      null,
      "USD",
      "pending",
      null,
      "2026-04-01 00:00:00",
      `2026-04-0${i} 00:00:00.00000${i}`,
      null,
    ]);
    await fx.db.admin.query(
      `INSERT INTO ${DATABASE}.settle_orders (id, merchant_id, order_ref, amount, fee, currency, status, customer_note, created_at, updated_at, settled_on) VALUES ?`,
      [rows],
    );
    const ctx = context("settle_orders");
    expect(await sync("settle_orders", "run-checksum", ctx)).toBe(3);
    // One microsecond off in the warehouse: still inside the window, so only the checksum can see it.
    await warehouse.redshift.query("UPDATE public.settle_orders SET updated_at = updated_at + interval '1 microsecond' WHERE id = 8000000000000001");
    const failure = (await validateLast(ctx).catch((error: unknown) => error)) as ValidationError;
    expect(failure).toBeInstanceOf(ValidationError);
    expect(failure.report.counts).toEqual({ mysql: 3, extracted: 3, redshift: 3, duplicateKeys: 0 });
    expect(failure.message).toMatch(/settle_orders: content checksum of the run's window differs: MySQL \d+, Redshift \d+/);
    await warehouse.redshift.query("UPDATE public.settle_orders SET updated_at = updated_at - interval '1 microsecond' WHERE id = 8000000000000001");
  });

  it("fails the quality check when a column's share of NULLs exceeds max_null_percentage", async () => {
    await fx.db.admin.query(`INSERT INTO ${DATABASE}.type_coverage (id, c_varchar) VALUES ?`, [
      [1, 2, 3, 4].map((i) => [String(4_000_000_000_000 + i), i === 1 ? "only one" : null]),
    ]);
    const strict = pipelineFromYaml(
      DATABASE,
      `  ${DATABASE}.type_coverage: { cdc_strategy: id_only, cdc_id_column: id, validation: { enable_data_quality_checks: true, max_null_percentage: 50 } }`,
    );
    const ctx: LoadContext = { ...contextFor(fx.s3, strict, `${DATABASE}.type_coverage`), redshift: warehouse.redshift };
    // Same pipeline name and prefix: this run continues the table's watermark.
    expect(await sync("type_coverage", "run-quality", ctx)).toBe(4);
    const failure = (await validateLast(ctx).catch((error: unknown) => error)) as ValidationError;
    expect(failure).toBeInstanceOf(ValidationError);
    expect(failure.report.nullPercentages.c_varchar).toBe(75);
    expect(failure.message).toContain(`${DATABASE}.type_coverage: column c_varchar is 75.00% NULL in the loaded rows (max_null_percentage: 50)`);
    expect(failure.report.counts).toEqual({ mysql: 4, extracted: 4, redshift: 4, duplicateKeys: 0 });
  });

  it("appends to a table without a primary key, each row once (and refuses a lookback that would land rows twice)", async () => {
    await fx.db.admin.query(`CREATE TABLE ${DATABASE}.events_log (seq INT NOT NULL, kind VARCHAR(10), logged_at DATETIME(6) NOT NULL, KEY (seq))`);
    const at = (i: number) => `2024-03-01 00:00:00.${String(i).padStart(6, "0")}`;
    await fx.db.admin.query(`INSERT INTO ${DATABASE}.events_log VALUES ?`, [
      Array.from({ length: 500 }, (_, i) => [i + 1, i % 2 === 0 ? "a" : "b", at(i + 1)]),
    ]);
    const yaml = (extra: string) =>
      pipelineFromYaml(
        DATABASE,
        `  ${DATABASE}.events_log: { cdc_strategy: timestamp_only, cdc_timestamp_column: logged_at, processing: { batch_size: 200 }${extra} }`,
      );
    const keyless = yaml("");
    const contextOf = (p: ResolvedPipeline): LoadContext => ({
      ...contextFor(fx.s3, { ...p, s3: { ...p.s3, isolation_prefix: "keyless/" } }, `${DATABASE}.events_log`),
      redshift: warehouse.redshift,
    });
    await expect(runExtraction(contextOf(yaml(", lookback_seconds: 60")), "run-keyless-0")).rejects.toThrow(
      `${DATABASE}.events_log: lookback_seconds 60 re-reads rows, and this table has no key to merge them on: they would land twice in Redshift. Fix: remove lookback_seconds, or give primary_key (a unique key), or use full_sync`,
    );
    const ctx = contextOf(keyless);
    await runExtraction(ctx, "run-keyless-1");
    expect(await loadPending(ctx)).toBe(500);
    await fx.db.admin.query(`INSERT INTO ${DATABASE}.events_log VALUES (501, 'c', '${at(501)}'), (502, 'c', '${at(502)}')`);
    await runExtraction(ctx, "run-keyless-2");
    expect(await loadPending(ctx)).toBe(2);
    const rows = await warehouse.redshift.query("SELECT count(*), count(DISTINCT seq), max(seq) FROM public.events_log");
    expect(rows.rows).toEqual([[502, 502, 502]]);
  });

  it("adds a new nullable source column to Redshift without a resync", async () => {
    await fx.db.admin.query(`ALTER TABLE ${DATABASE}.settle_orders ADD COLUMN risk_score DECIMAL(5,2) NULL`);
    // Discovery is cached for an hour: the new column shows from the first run after that (here: at once).
    forgetDiscovered();
    await fx.db.admin.query(`UPDATE ${DATABASE}.settle_orders SET risk_score = 12.5, updated_at = '2026-05-01 00:00:00' WHERE id <= 10`);
    expect(await sync("settle_orders", "run-3-orders")).toBe(10);
    const columns = await warehouse.redshift.query(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'settle_orders' ORDER BY ordinal_position",
    );
    expect(columns.rows.map((r) => r[0]).at(-1)).toBe("risk_score");
    expect(await differences("settle_orders")).toEqual([]);
  });
});
