/**
 * Every load is validated, whichever run loads the files: a `redshift_only` load of files a `backup_only` run staged,
 * and a run loading the files a run failed to load, both compare the extracted windows with MySQL; a missing row
 * fails the table and no completion marker is written. Through the real state machine and handlers.
 */
import { describe, expect, it } from "vitest";
import { loadPipeline } from "#config/loader.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import type { LambdaHandler } from "#local/stepfunctions/runner.ts";
import { getWatermark, resetWatermark } from "#services/watermarks.ts";
import { contextFor } from "../support/extraction.ts";
import { COMPLETION, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_validation";
const PIPELINE = `
pipeline:
  name: checks
  source: test_mysql
  target: test_redshift
  staging: test_staging
  processing: { batch_size: 100 }
  s3: { isolation_prefix: checks/ }
  completion: { bucket: ${COMPLETION} }
tables:
  ${DB}.settlements: { cdc_strategy: id_only }
  ${DB}.refunds: { cdc_strategy: id_only }
  ${DB}.notes: { cdc_strategy: id_only }
`;
const fx = usePipelineFixture(DB, () => PIPELINE);
const context = async (table: string) => contextFor(fx.s3, await loadPipeline(fx.configDir, "checks"), `${DB}.${table}`);

/** The summary of a finished execution (from its output, or from the SyncFailed cause). */
function summaryOf(execution: { output: unknown; cause: string | undefined }): RunSummary {
  if (execution.output !== undefined) return execution.output as RunSummary;
  const cause = execution.cause ?? "";
  return JSON.parse(cause.slice(cause.indexOf("\n") + 1)) as RunSummary;
}

const markersOf = async (table: string) => (await fx.s3.store.listAll(COMPLETION, `completion_markers/checks/${DB}.${table}/`)).map((o) => o.key);

async function seed(table: string, rows: number): Promise<void> {
  await fx.db.admin.query(`CREATE TABLE ${DB}.${table} (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
  // Id 150 is missing: a row the extraction cannot have read (it is committed after, below the cursor).
  await fx.db.admin.query(`INSERT INTO ${DB}.${table} SELECT seq, seq / 3 FROM seq_1_to_${rows} WHERE seq <> 150`);
}

describe("every load is validated", () => {
  it("a redshift_only load of staged files with a row missing fails validation, and writes no marker", async () => {
    await seed("settlements", 500);
    const backup = await fx.run({ pipeline: "checks", tables: [`${DB}.settlements`], mode: "backup_only" });
    expect(backup.status, backup.cause).toBe("SUCCEEDED");
    const staged = await getWatermark(await context("settlements"));
    expect(staged?.s3_state.pending_validation).toEqual([expect.objectContaining({ start: { timestamp: null, key: null }, rows: 499 })]);
    await fx.db.admin.query(`INSERT INTO ${DB}.settlements VALUES (150, 50)`);
    const markersBefore = await markersOf("settlements");

    const load = await fx.run({ pipeline: "checks", tables: [`${DB}.settlements`], mode: "redshift_only" });
    expect(load.status).toBe("FAILED");
    const line = summaryOf(load).table_results[`${DB}.settlements`];
    expect(line).toMatchObject({ status: "failed", error_type: "ValidationError", rows_loaded: 499 });
    expect(line?.error_message).toBe(
      `${DB}.settlements: 1 row(s) of the run's window are in MySQL but not in Redshift (MySQL 500, extracted 499, Redshift 499)`,
    );
    expect(await markersOf("settlements"), "no marker for a load that failed validation").toEqual(markersBefore);
    // The window stays listed: the next load validates it again.
    expect((await getWatermark(await context("settlements")))?.s3_state.pending_validation).toHaveLength(1);
  });

  it("a run loading the files a failed load left validates their window too; once the rows are re-read it passes and the marker follows", async () => {
    await seed("refunds", 300);
    const failingLoad: LambdaHandler = () => Promise.reject(Object.assign(new Error("simulated: COPY role missing"), { name: "RedshiftStatementError" }));
    const first = await fx.run({ pipeline: "checks", tables: [`${DB}.refunds`] }, { SubmitLoadFunctionArn: failingLoad });
    expect(first.status).toBe("FAILED");
    expect((await getWatermark(await context("refunds")))?.s3_state.backup_s3_files.length).toBeGreaterThan(0);
    await fx.db.admin.query(`INSERT INTO ${DB}.refunds VALUES (150, 50), (301, 100)`);

    const second = await fx.run({ pipeline: "checks", tables: [`${DB}.refunds`] });
    expect(second.status).toBe("FAILED");
    const line = summaryOf(second).table_results[`${DB}.refunds`];
    expect(line).toMatchObject({ status: "failed", error_type: "ValidationError" });
    // Both windows: the failed run's (299 extracted, 300 in MySQL now) and this run's (id 301).
    expect(line?.error_message).toBe(`${DB}.refunds: 1 row(s) of the run's window are in MySQL but not in Redshift (MySQL 300, extracted 299, Redshift 299)`);
    expect(await markersOf("refunds")).toEqual([]);

    // The operator's fix: re-read the table. Every pending window is then validated and passes.
    await resetWatermark(await context("refunds"));
    const third = await fx.run({ pipeline: "checks", tables: [`${DB}.refunds`] });
    expect(third.status, third.cause).toBe("SUCCEEDED");
    expect(summaryOf(third).table_results[`${DB}.refunds`]?.validation).toMatch(/^passed: 3 window\(s\)/);
    expect((await getWatermark(await context("refunds")))?.s3_state.pending_validation).toEqual([]);
    expect((await markersOf("refunds")).some((k) => k.endsWith("completion_marker.txt"))).toBe(true);
  });
});

describe("a load whose statement failed", () => {
  it("really runs again when re-run at once (a new ClientToken per failed attempt), and is applied once", async () => {
    await fx.db.admin.query(`CREATE TABLE ${DB}.notes (id INT NOT NULL PRIMARY KEY, note VARCHAR(40) NULL)`);
    await fx.db.admin.query(`INSERT INTO ${DB}.notes SELECT seq, IF(seq % 10 = 0, NULL, CONCAT('note ', seq)) FROM seq_1_to_200`);
    // An administrator's NOT NULL on the target: Redshift refuses the load's insert, the statement ends FAILED.
    await fx.warehouse.redshift.query("CREATE TABLE public.notes (id INTEGER, note VARCHAR(160) NOT NULL, PRIMARY KEY (id))");
    const first = await fx.run({ pipeline: "checks", tables: [`${DB}.notes`] });
    expect(first.status).toBe("FAILED");
    expect(summaryOf(first).table_results[`${DB}.notes`]).toMatchObject({ status: "failed", error_type: "RedshiftStatementError" });
    const failed = await getWatermark(await context("notes"));
    expect(Object.values(failed?.redshift_state.failed_loads ?? {}).map((ids) => ids.length)).toEqual([1]);

    // The cause is fixed and the run repeated at once: the same files, so the same load id — but a new attempt.
    await fx.warehouse.redshift.query("ALTER TABLE public.notes ALTER COLUMN note DROP NOT NULL");
    const second = await fx.run({ pipeline: "checks", tables: [`${DB}.notes`] });
    expect(second.status, second.cause).toBe("SUCCEEDED");
    expect(summaryOf(second).table_results[`${DB}.notes`]).toMatchObject({ status: "success", rows_loaded: 200 });
    const loaded = await fx.warehouse.redshift.query("SELECT count(*), count(note) FROM public.notes");
    expect(loaded.rows[0]?.map(Number)).toEqual([200, 180]);
    expect((await getWatermark(await context("notes")))?.redshift_state.failed_loads).toEqual({});
  });
});
