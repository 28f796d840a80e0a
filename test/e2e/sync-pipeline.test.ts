/**
 * The whole product offline: the real ASL (statemachines/sync-pipeline.asl.json) executed locally with the real
 * handlers against MariaDB, the local S3 and the local Redshift Data API. Every check compares Redshift with MySQL
 * cell by cell, and reads the watermarks and completion markers a user would read.
 */
import { describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import { seedDemo } from "#local/demo/seed.ts";
import type { LambdaHandler } from "#local/stepfunctions/runner.ts";
import { loadSchema } from "#services/sync-context.ts";
import { getWatermark } from "#services/watermarks.ts";
import { tableDifferences } from "../support/compare.ts";
import { loadPipeline } from "#config/loader.ts";
import { contextFor, MYSQL_URL } from "../support/extraction.ts";
import { COMPLETION, STAGING, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_e2e";
const CUSTOM_SQL = `SELECT id, label, amount FROM ${DB}.adjustments WHERE id > :last_id AND id <= :ceiling_id ORDER BY id LIMIT :batch_size`;
const TABLES = {
  settle_orders:
    "  settle_orders: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, cdc_id_column: id, lookback_seconds: 0, validation: { content_checksum: true } }",
  type_coverage: "  type_coverage: { cdc_strategy: id_only, cdc_id_column: id, processing: { batch_size: 300 } }",
  merchants: "  merchants: { cdc_strategy: full_sync, full_sync_mode: replace }",
  ledger_events: "  ledger_events: { cdc_strategy: timestamp_only, cdc_timestamp_column: created_at, lookback_seconds: 0, processing: { batch_size: 250 } }",
  adjustments: `  adjustments: { cdc_strategy: custom_sql, cdc_id_column: id, custom_sql: "${CUSTOM_SQL}" }`,
  broken: "  broken: { cdc_strategy: id_only, cdc_id_column: id }",
  crash_items: "  crash_items: { cdc_strategy: id_only, cdc_id_column: id, processing: { batch_size: 100 } }",
};
const tablesYaml = Object.values(TABLES)
  .map((line) => line.replace(/^ {2}/, `  ${DB}.`))
  .join("\n");
const PIPELINE = `
pipeline:
  name: e2e
  source: test_mysql
  target: test_redshift
  staging: test_staging
  processing: { batch_size: 700, max_parallel_tables: 2 }
  s3: { isolation_prefix: e2e/ }
  completion: { bucket: ${COMPLETION} }
tables:
${tablesYaml}
`;

const fx = usePipelineFixture(DB, () => PIPELINE);
const key = (table: keyof typeof TABLES) => `${DB}.${table}`;
/** The pipeline as the handlers read it (same config dir). */
const testPipeline = () => loadPipeline(fx.configDir, "e2e");

async function seed(): Promise<void> {
  await seedDemo({ mysqlUrl: MYSQL_URL, database: DB, orders: 2_500, typeCoverage: 600, merchants: 40 });
  const { admin } = fx.db;
  await admin.query(
    `CREATE TABLE ${DB}.ledger_events (id INT PRIMARY KEY AUTO_INCREMENT, created_at DATETIME(6) NOT NULL, amount DECIMAL(12,2), INDEX (created_at))`,
  );
  // 1,200 events on 8 distinct timestamps: every chunk edge falls inside a run of one timestamp.
  await admin.query(
    `INSERT INTO ${DB}.ledger_events (created_at, amount) SELECT TIMESTAMP('2025-01-01 00:00:00.000001') + INTERVAL (seq MOD 8) HOUR, seq / 100 FROM seq_1_to_1200`,
  );
  await admin.query(`CREATE TABLE ${DB}.adjustments (id BIGINT PRIMARY KEY, label VARCHAR(40) CHARACTER SET utf8mb4, amount DECIMAL(18,6), note TEXT)`);
  await admin.query(`INSERT INTO ${DB}.adjustments SELECT seq * 3, CONCAT('adj ✓ ', seq), seq / 7, 'not selected' FROM seq_1_to_900`);
  await admin.query(`CREATE TABLE ${DB}.broken (id INT PRIMARY KEY, amount DECIMAL(10,2))`);
  await admin.query(`INSERT INTO ${DB}.broken SELECT seq, seq FROM seq_1_to_50`);
  await admin.query(`CREATE TABLE ${DB}.crash_items (id INT PRIMARY KEY, v VARCHAR(20))`);
  await admin.query(`INSERT INTO ${DB}.crash_items SELECT seq, CONCAT('v', seq) FROM seq_1_to_1000`);
}

async function differences(table: keyof typeof TABLES): Promise<string[]> {
  const schemas = await fx.s3.store.listAll(STAGING, `e2e/schemas/e2e/${key(table)}/`);
  const newest = [...schemas].sort((a, b) => (a.lastModified?.getTime() ?? 0) - (b.lastModified?.getTime() ?? 0)).at(-1);
  const context = contextFor(fx.s3, await testPipeline(), key(table));
  const schema = await loadSchema(context, newest?.key ?? "");
  const source = table === "adjustments" ? `(SELECT id, label, amount FROM ${DB}.adjustments) AS a` : key(table);
  return tableDifferences(fx.db.admin, source, fx.warehouse.redshift, `public.${table}`, schema);
}

const watermark = async (table: keyof typeof TABLES) => getWatermark(contextFor(fx.s3, await testPipeline(), key(table)));
const summaryOf = (output: unknown) => output as RunSummary;

/** Every object created in the completion bucket, in creation order. */
function recordMarkerWrites(): string[] {
  const writes: string[] = [];
  fx.s3.server.events.on("objectCreated", (event) => {
    if (event.bucket === COMPLETION) writes.push(event.key);
  });
  return writes;
}

describe("sync pipeline, end to end on the local stand-ins", () => {
  it("fails Plan on bad input with a message naming the problem, before touching anything", async () => {
    const badMode = await fx.run({ pipeline: "e2e", mode: "sideways" });
    expect(badMode.status).toBe("FAILED");
    expect(badMode.error).toBe("InvalidInputError");
    expect(badMode.cause).toMatch(/mode/);
    const unknownTable = await fx.run({ pipeline: "e2e", tables: [`${DB}.nope`] });
    expect(unknownTable.error).toBe("InvalidInputError");
    expect(unknownTable.cause).toContain(`no table ${DB}.nope`);
    for (const [input, message] of [
      [null, "expected object, received null"],
      [[], "expected object, received array"],
      [{ pipeline: "e2e", tables: [] }, "tables, when given, lists at least one table (omit it to sync every table)"],
      [{ pipeline: "e2e", completion_bucket: "Bad_Bucket/x" }, "an S3 bucket name (3-63 lower-case letters, digits, . or -)   → at completion_bucket"],
    ] as const) {
      const refused = await fx.run(input);
      expect(refused.error, JSON.stringify(input)).toBe("InvalidInputError");
      expect(refused.cause, JSON.stringify(input)).toContain(message);
    }
    const unknownPipeline = await fx.run({ pipeline: "nope" });
    expect(unknownPipeline.error).toBe("ConfigError");
    expect(unknownPipeline.cause).toContain('no pipeline named \\"nope\\"; known pipelines: e2e');
    expect(await fx.s3.store.listAll(STAGING, "")).toEqual([]);
  });

  it("syncs a table of each strategy, equal to MySQL, with markers written last-file-last", async () => {
    await seed();
    const writes = recordMarkerWrites();
    const tables = ["settle_orders", "type_coverage", "merchants", "ledger_events", "adjustments"] as const;
    const execution = await fx.run({ pipeline: "e2e", tables: tables.map(key) });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    const summary = summaryOf(execution.output);
    expect(summary).toMatchObject({ pipeline: "e2e", status: "success", mode: "full", total_tables: 5, summary: { success_count: 5, failure_count: 0 } });
    const expected = { settle_orders: 2_500, type_coverage: 600, merchants: 40, ledger_events: 1_200, adjustments: 900 };
    for (const table of tables) {
      expect(summary.table_results[key(table)], table).toMatchObject({ status: "success", rows_processed: expected[table], rows_loaded: expected[table] });
      expect(await differences(table), table).toEqual([]);
    }
    expect(summary.summary.total_rows_processed).toBe(Object.values(expected).reduce((a, b) => a + b, 0));

    // Markers: three files per table, completion_marker.txt after the other two of its folder.
    for (const table of tables) {
      const own = writes.filter((k) => k.startsWith(`completion_markers/e2e/${key(table)}/`));
      expect(
        own.map((k) => k.split("/").at(-1)),
        table,
      ).toEqual(["execution_metadata.json", "table_metrics.json", "completion_marker.txt"]);
      expect(own[0]).toMatch(new RegExp(`/\\d{8}_\\d{6}/execution_metadata\\.json$`));
      const folder = own[0]?.replace(/execution_metadata\.json$/, "") ?? "";
      const text = await (await fx.s3.store.getStream(COMPLETION, `${folder}completion_marker.txt`)).toArray();
      const lines = Buffer.concat(text).toString("utf8").trimEnd().split("\n");
      expect(lines[0]).toBe("SYNC_COMPLETED");
      expect(lines.slice(1, 4)).toEqual([`Pipeline: e2e`, `Table: ${key(table)}`, "Status: SUCCESS"]);
      expect(lines[6]).toBe(`Rows: ${expected[table]}`);
      const metadata = (await fx.s3.store.getJson(COMPLETION, `${folder}execution_metadata.json`)).value as RunSummary;
      expect(metadata).toMatchObject({
        execution_id: execution.name,
        tables_requested: [key(table)],
        status: "success",
        summary: { total_rows_processed: expected[table] },
      });
      const metrics = (await fx.s3.store.getJson(COMPLETION, `${folder}table_metrics.json`)).value as { redshift_metrics: { rows_loaded: number } };
      expect(metrics.redshift_metrics.rows_loaded).toBe(expected[table]);
    }
  });

  it("moves only the delta on the next run", async () => {
    const { admin } = fx.db;
    // Committed a minute ago: outside the settle window (rows newer than NOW() - settle_seconds wait for the next run).
    await admin.query(`UPDATE ${DB}.settle_orders SET amount = amount + 1, updated_at = NOW(6) - INTERVAL 1 MINUTE WHERE id <= 30`);
    await admin.query(`INSERT INTO ${DB}.ledger_events (created_at, amount) SELECT NOW(6) - INTERVAL 1 MINUTE, seq FROM seq_1_to_25`);
    await admin.query(`INSERT INTO ${DB}.adjustments SELECT 5000 + seq, 'late', seq, '' FROM seq_1_to_7`);
    const execution = await fx.run({ pipeline: "e2e", tables: [key("settle_orders"), key("ledger_events"), key("adjustments"), key("type_coverage")] });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    const results = summaryOf(execution.output).table_results;
    // Nothing new in type_coverage: Begin ends its run at once, and it still ends successful and released.
    expect(results[key("type_coverage")]).toMatchObject({ status: "success", rows_processed: 0 });
    expect((await watermark("type_coverage"))?.mysql_state).toMatchObject({ status: "success", lease_expires_at: null });
    expect(results[key("settle_orders")]).toMatchObject({ rows_processed: 30, rows_loaded: 30 });
    expect(results[key("ledger_events")]).toMatchObject({ rows_processed: 25, rows_loaded: 25 });
    expect(results[key("adjustments")]).toMatchObject({ rows_processed: 7, rows_loaded: 7 });
    for (const table of ["settle_orders", "ledger_events", "adjustments"] as const) expect(await differences(table), table).toEqual([]);
  });

  it("backup_only stages files without loading; redshift_only then loads exactly those", async () => {
    await fx.db.admin.query(`INSERT INTO ${DB}.type_coverage (id) SELECT 2000000000000 + seq FROM seq_1_to_45`);
    const backup = await fx.run({ pipeline: "e2e", tables: [key("type_coverage")], mode: "backup_only" });
    expect(backup.status, backup.cause).toBe("SUCCEEDED");
    expect(summaryOf(backup.output).table_results[key("type_coverage")]).toMatchObject({ status: "success", rows_processed: 45, rows_loaded: 0 });
    expect(summaryOf(backup.output).stages.redshift).toBeNull();
    expect((await watermark("type_coverage"))?.s3_state.backup_s3_files).toHaveLength(1);
    expect((await differences("type_coverage")).length).toBeGreaterThan(0);

    const load = await fx.run({ pipeline: "e2e", tables: [key("type_coverage")], mode: "redshift_only" });
    expect(load.status, load.cause).toBe("SUCCEEDED");
    expect(summaryOf(load.output).table_results[key("type_coverage")]).toMatchObject({ status: "success", rows_processed: 0, rows_loaded: 45 });
    // The load's marker counts the files it loaded (extracted by the backup_only run), not the files this run wrote.
    const metricsFiles = (await fx.s3.store.listAll(COMPLETION, `completion_markers/e2e/${key("type_coverage")}/`)).filter((o) =>
      o.key.endsWith("table_metrics.json"),
    );
    const newest = [...metricsFiles].sort((a, b) => (a.lastModified?.getTime() ?? 0) - (b.lastModified?.getTime() ?? 0)).at(-1);
    const loadMetrics = (await fx.s3.store.getJson(COMPLETION, newest?.key ?? "")).value as { redshift_metrics: { rows_loaded: number; files_loaded: number } };
    expect(loadMetrics.redshift_metrics).toMatchObject({ rows_loaded: 45, files_loaded: 1 });
    expect((await watermark("type_coverage"))?.s3_state.backup_s3_files).toEqual([]);
    expect(await differences("type_coverage")).toEqual([]);
  });

  it("fails one table (incompatible column type) while the others succeed, and ends the execution failed", async () => {
    await fx.warehouse.redshift.query("CREATE TABLE public.broken (id INTEGER, amount BOOLEAN)");
    const writes = recordMarkerWrites();
    const execution = await fx.run({ pipeline: "e2e", tables: [key("broken"), key("merchants")] });
    expect(execution.status).toBe("FAILED");
    expect(execution.error).toBe("SyncFailed");
    const [head = "", json = "{}"] = (execution.cause ?? "").split("\n");
    expect(head).toContain(`1 of 2 table(s) failed: ${key("broken")} (TableSchemaError)`);
    const summary = JSON.parse(json) as RunSummary;
    expect(summary.status).toBe("partial_success");
    expect(summary.table_results[key("merchants")]).toMatchObject({ status: "success", rows_processed: 40 });
    expect(summary.table_results[key("broken")]?.error_message).toMatch(/amount/);
    const state = await watermark("broken");
    expect(state?.mysql_state).toMatchObject({ status: "failed", lease_expires_at: null });
    expect(state?.mysql_state.last_error).toMatch(/^TableSchemaError: .*amount/);
    expect(state?.s3_state.backup_s3_files).toHaveLength(1);
    expect(writes.some((k) => k.includes(`/${key("merchants")}/`))).toBe(true);
    expect(writes.filter((k) => k.includes(`/${key("broken")}/`))).toEqual([]);
  });

  it("resumes after crashes mid-chunk: lost replies are retried, a failed execution is resumed by the next, rows land exactly once", async () => {
    let calls = 0;
    const crash = (kind: string) => Object.assign(new Error(`simulated ${kind}`), { name: "Lambda.Unknown" });
    const crashing: LambdaHandler = async (event, context) => {
      calls++;
      if (calls === 2) {
        await fx.handlers.ExtractChunkFunctionArn?.(event, context);
        throw crash("crash after the commit (reply lost)");
      }
      if (calls === 4) throw crash("crash before the chunk");
      if (calls === 6) throw Object.assign(new Error("simulated outage"), { name: "SimulatedOutage" });
      return fx.handlers.ExtractChunkFunctionArn?.(event, context);
    };
    const first = await fx.run({ pipeline: "e2e", tables: [key("crash_items")] }, { ExtractChunkFunctionArn: crashing });
    expect(first.status).toBe("FAILED");
    const failed = await watermark("crash_items");
    expect(failed?.mysql_state.status).toBe("failed");
    expect(failed?.last_processed_id).toBe("400");

    // The resuming run loses one reply too: its counts come from the watermark, so validation still balances.
    calls = 0;
    const losing: LambdaHandler = async (event, context) => {
      calls++;
      const reply = await fx.handlers.ExtractChunkFunctionArn?.(event, context);
      if (calls === 2) throw crash("reply lost");
      return reply;
    };
    const second = await fx.run({ pipeline: "e2e", tables: [key("crash_items")] }, { ExtractChunkFunctionArn: losing });
    expect(second.status, second.cause).toBe("SUCCEEDED");
    expect(summaryOf(second.output).table_results[key("crash_items")]).toMatchObject({ status: "success", rows_processed: 600, rows_loaded: 1_000 });
    expect(await differences("crash_items")).toEqual([]);
    const loaded = await fx.warehouse.redshift.query("SELECT count(*), count(DISTINCT id) FROM public.crash_items");
    expect(loaded.rows[0]?.map(Number)).toEqual([1_000, 1_000]);
  });
});
