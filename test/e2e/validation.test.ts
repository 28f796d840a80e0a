/**
 * Every load is validated, whichever run loads the files: a `redshift_only` load of files a `backup_only` run staged,
 * and a run loading the files a run failed to load, both compare the extracted windows with MySQL. A row committed
 * into a window after it was read is late, not lost: the window is read again by the next run, and the table stays
 * green; only a row that does not land however often its window is read again fails the table. Through the real
 * state machine and handlers.
 */
import { describe, expect, it } from "vitest";
import { loadPipeline } from "#config/loader.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import type { LambdaHandler } from "#local/stepfunctions/runner.ts";
import { MAX_UNCHANGED_REREADS } from "#domain/watermark.ts";
import { getWatermark } from "#services/watermarks.ts";
import { contextFor } from "../support/extraction.ts";
import { asNoService } from "#local/iam/runtime.ts";
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
  ${DB}.notes_lost: { cdc_strategy: id_only }
  ${DB}.quality: { cdc_strategy: id_only, validation: { enable_data_quality_checks: true, max_null_percentage: 50 } }
`;
const fx = usePipelineFixture(DB, () => PIPELINE);
const context = async (table: string) => contextFor(fx.s3, await loadPipeline(fx.configDir, "checks"), `${DB}.${table}`);

/** The summary of a finished execution (from its output, or from the SyncFailed cause). */
function summaryOf(execution: { output: unknown; cause: string | undefined }): RunSummary {
  if (execution.output !== undefined) return execution.output as RunSummary;
  const cause = execution.cause ?? "";
  return JSON.parse(cause.slice(cause.indexOf("\n") + 1)) as RunSummary;
}

const inMysql = async (table: string) =>
  (await fx.db.admin.query({ sql: `SELECT id, CAST(amount AS CHAR) FROM ${DB}.${table} ORDER BY id`, rowsAsArray: true }))[0] as unknown[][];
const inRedshift = async (table: string) => (await fx.warehouse.redshift.query(`SELECT id, amount::text FROM public.${table} ORDER BY id`)).rows;

const markersOf = async (table: string) => (await fx.s3.store.listAll(COMPLETION, `completion_markers/checks/${DB}.${table}/`)).map((o) => o.key);

async function seed(table: string, rows: number): Promise<void> {
  await fx.db.admin.query(`CREATE TABLE ${DB}.${table} (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
  // Id 150 is missing: a row the extraction cannot have read (it is committed after, below the cursor).
  await fx.db.admin.query(`INSERT INTO ${DB}.${table} SELECT seq, seq / 3 FROM seq_1_to_${rows} WHERE seq <> 150`);
}

describe("every load is validated", () => {
  it("a redshift_only load of staged files finds a row committed late: success, the window read again by the next run, then equal", async () => {
    await seed("settlements", 500);
    const backup = await fx.run({ pipeline: "checks", tables: [`${DB}.settlements`], mode: "backup_only" });
    expect(backup.status, backup.cause).toBe("SUCCEEDED");
    const staged = await getWatermark(await context("settlements"));
    expect(staged?.s3_state.pending_validation).toEqual([expect.objectContaining({ start: { timestamp: null, key: null }, rows: 499 })]);
    await fx.db.admin.query(`INSERT INTO ${DB}.settlements VALUES (150, 50)`);

    const load = await fx.run({ pipeline: "checks", tables: [`${DB}.settlements`], mode: "redshift_only" });
    expect(load.status, load.cause).toBe("SUCCEEDED");
    const line = summaryOf(load).table_results[`${DB}.settlements`];
    expect(line).toMatchObject({ status: "success", rows_loaded: 499, late_rows: 1 });
    expect(line?.validation).toBe(
      "passed: 1 window(s), MySQL 500, extracted 499, Redshift 499; 1 row(s) committed late into 1 key range(s) after they were read: the next run reads them again",
    );
    const queued = await getWatermark(await context("settlements"));
    expect(queued?.s3_state.pending_validation).toEqual([]);
    // Just the narrow key range around id 150 (the window is 499 rows: one id a bucket), not the whole window.
    expect(queued?.mysql_state.late_windows).toEqual([
      expect.objectContaining({ start: { timestamp: null, key: ["149"] }, end: { timestamp: null, key: ["150"] }, late_rows: 1 }),
    ]);

    const next = await fx.run({ pipeline: "checks", tables: [`${DB}.settlements`] });
    expect(next.status, next.cause).toBe("SUCCEEDED");
    expect(summaryOf(next).table_results[`${DB}.settlements`]).toMatchObject({ status: "success", windows_reread: 1, rows_processed: 1 });
    expect(await inRedshift("settlements")).toEqual(await inMysql("settlements"));
    expect((await getWatermark(await context("settlements")))?.mysql_state.late_windows).toEqual([]);
  });

  it("a run loading the files a failed load left validates their window too; a row late into it is read again, and the markers follow", async () => {
    await seed("refunds", 300);
    const failingLoad: LambdaHandler = () => Promise.reject(Object.assign(new Error("simulated: COPY role missing"), { name: "RedshiftStatementError" }));
    const first = await fx.run({ pipeline: "checks", tables: [`${DB}.refunds`] }, { SubmitLoadFunctionArn: failingLoad });
    expect(first.status).toBe("FAILED");
    expect((await getWatermark(await context("refunds")))?.s3_state.backup_s3_files.length).toBeGreaterThan(0);
    await fx.db.admin.query(`INSERT INTO ${DB}.refunds VALUES (150, 50), (301, 100)`);

    const second = await fx.run({ pipeline: "checks", tables: [`${DB}.refunds`] });
    expect(second.status, second.cause).toBe("SUCCEEDED");
    // Begin counted the failed run's window again (300 in MySQL now, 299 read) and the run read it again; then the
    // three windows validate: the failed run's, the re-read one and this run's (id 301).
    expect(summaryOf(second).table_results[`${DB}.refunds`]).toMatchObject({
      status: "success",
      late_rows: 1,
      windows_reread: 1,
      validation: "passed: 3 window(s), MySQL 601, extracted 600, Redshift 601",
    });
    expect(await inRedshift("refunds")).toEqual(await inMysql("refunds"));
    expect((await markersOf("refunds")).some((k) => k.endsWith("completion_marker.txt"))).toBe(true);
    // The marker's metadata says what arrived late, for downstream consumers.
    const metadataKey = (await markersOf("refunds")).find((k) => k.endsWith("execution_metadata.json")) ?? "";
    const metadata = (await fx.s3.store.getJson(COMPLETION, metadataKey)).value as RunSummary;
    expect(metadata.table_results[`${DB}.refunds`]).toMatchObject({ status: "success", late_rows: 1, windows_reread: 1 });
    expect((await getWatermark(await context("refunds")))?.s3_state.pending_validation).toEqual([]);
  });

  it(`a row that does not land however often its window is read again fails the table after ${MAX_UNCHANGED_REREADS} unchanged re-reads, naming the window and the repair`, async () => {
    await seed("notes_lost", 200);
    const pipelineTable = `${DB}.notes_lost`;
    // A loss the product did not cause: the row vanishes from Redshift after every load (before validation).
    const lossyFinish: LambdaHandler = async (input, context) => {
      // The test's own administrator, not the Finish function (whose role may not run SQL).
      await asNoService(() => fx.warehouse.redshift.query("DELETE FROM public.notes_lost WHERE id = 150"));
      return fx.handlers.FinishFunctionArn?.(input, context);
    };
    expect((await fx.run({ pipeline: "checks", tables: [pipelineTable] })).status).toBe("SUCCEEDED");
    await fx.db.admin.query(`INSERT INTO ${pipelineTable} VALUES (150, 50)`);
    const statuses: string[] = [];
    let last: Awaited<ReturnType<typeof fx.run>> | undefined;
    for (let run = 0; run < MAX_UNCHANGED_REREADS + 2 && last?.status !== "FAILED"; run++) {
      last = await fx.run({ pipeline: "checks", tables: [pipelineTable] }, { FinishFunctionArn: lossyFinish });
      statuses.push(last.status);
    }
    // The window is read again (run 1), then its narrow range around id 150, found short again with MySQL's count
    // the same after each re-read: the third such fails.
    expect(statuses).toEqual([...Array<string>(MAX_UNCHANGED_REREADS).fill("SUCCEEDED"), "FAILED"]);
    const line = summaryOf(last ?? { output: undefined, cause: undefined }).table_results[pipelineTable];
    expect(line).toMatchObject({ status: "failed", error_type: "ValidationError" });
    expect(line?.error_message).toMatch(
      /the window after \(149\) up to \(150\) holds 1 row\(s\) in MySQL, 1 of them not in Redshift, after \d+ re-read\(s\) with no new commit into it: these rows are not late, they do not land/,
    );
    expect(line?.error_message).toContain(`Repair: mrsync reconcile -p checks -t ${pipelineTable}`);
  });
});

describe("a window that fails validation", () => {
  it("stays listed and fails each run, while the windows after it validate and leave the list", async () => {
    await fx.db.admin.query(`CREATE TABLE ${DB}.quality (id INT NOT NULL PRIMARY KEY, note VARCHAR(10) NULL)`);
    await fx.db.admin.query(`INSERT INTO ${DB}.quality SELECT seq, NULL FROM seq_1_to_20`);
    const first = await fx.run({ pipeline: "checks", tables: [`${DB}.quality`] });
    expect(summaryOf(first).table_results[`${DB}.quality`]).toMatchObject({ status: "failed", error_type: "ValidationError" });
    await fx.db.admin.query(`INSERT INTO ${DB}.quality SELECT seq, 'fine' FROM seq_21_to_40`);
    const second = await fx.run({ pipeline: "checks", tables: [`${DB}.quality`] });
    expect(summaryOf(second).table_results[`${DB}.quality`]).toMatchObject({ status: "failed", error_type: "ValidationError" });
    const listed = (await getWatermark(await context("quality")))?.s3_state.pending_validation ?? [];
    expect(
      listed.map((w) => [w.start?.key ?? null, w.end.key]),
      "only the failing window",
    ).toEqual([[null, ["20"]]]);
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
