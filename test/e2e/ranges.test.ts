/**
 * Parallel key ranges end to end (docs/design.md §14): the real ASL run by the local runner with the real handlers and
 * the stack's IAM. A 2M-row table with a composite (INT, DATE) key of uneven density — half its rows under a few
 * merchants, half spread thin — is read by ReadRanges' child execution, a Distributed Map of four range readers, each
 * a child execution of its own, and lands equal to MySQL cell by cell; a full_sync table is read in ranges every run.
 * A local run killed with SIGKILL half way is resumed by the next: the ranges it had read are not read again, nothing
 * is lost or doubled — the 2M-row table re-read after a watermark reset, an id_only table and a full_sync one (whose
 * next run would otherwise read it all again).
 */
import { describe, expect, it } from "vitest";
import { loadPipeline } from "#config/loader.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { runStamp, tableDataFile } from "#domain/s3-layout.ts";
import type { ExecutionRecord } from "#local/stepfunctions/runner.ts";
import { loadSchema } from "#services/sync-context.ts";
import { getWatermark } from "#services/watermarks.ts";
import type { TableReconcile } from "../../cli/commands/reconcile.ts";
import { runCli, startCli, startLocalSync } from "../support/cli.ts";
import { tableDifferences } from "../support/compare.ts";
import { contextFor } from "../support/extraction.ts";
import { STAGING, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_ranges_e2e";
const ROWS = 2_000_000;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: ranges, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: ranges/ }, processing: { batch_size: 50000 } }
tables:
  ${DB}.settlements: { cdc_strategy: id_only, cdc_id_column: [merchant_id, day], processing: { parallel_ranges: 4 } }
  ${DB}.rates: { cdc_strategy: full_sync, processing: { parallel_ranges: 4, batch_size: 2000 } }
  ${DB}.ledger: { cdc_strategy: id_only, cdc_id_column: [merchant_id, day], processing: { parallel_ranges: 4, batch_size: 1000 } }
  ${DB}.balances: { cdc_strategy: full_sync, processing: { parallel_ranges: 4, batch_size: 1000 } }
  ${DB}.payouts: { cdc_strategy: id_only, cdc_id_column: [merchant_id, day], delete_policy: hard, processing: { parallel_ranges: 4, max_parallel_ranges: 1, batch_size: 50000 } }
`,
);
const mrsync = (...args: string[]) => runCli(fx.configDir, args);
const context = async (table: string) => contextFor(fx.s3, await loadPipeline(fx.configDir, "ranges"), `${DB}.${table}`);

/** The composite key's rows: half under 50 dense merchants (20,000 days each), half under sparse ones (2 days each). */
async function seed(table: string, rows: number): Promise<void> {
  await fx.db.admin.query(
    `CREATE TABLE ${DB}.${table} (merchant_id INT NOT NULL, day DATE NOT NULL, amount DECIMAL(14,2) NOT NULL, note VARCHAR(24), PRIMARY KEY (merchant_id, day))`,
  );
  const half = rows / 2;
  const dense = Math.max(1, Math.round(half / 20_000));
  await fx.db.admin.query(
    `INSERT INTO ${DB}.${table} SELECT 1 + seq % ${dense}, DATE_ADD('1950-01-01', INTERVAL seq DIV ${dense} DAY), seq / 100, IF(seq % 5 = 0, NULL, CONCAT('d', seq)) FROM seq_0_to_${half - 1}`,
  );
  await fx.db.admin.query(
    `INSERT INTO ${DB}.${table} SELECT 1000 + seq DIV 2, DATE_ADD('2024-01-01', INTERVAL seq % 2 DAY), seq / 10, 'sparse' FROM seq_0_to_${half - 1}`,
  );
  await fx.db.admin.query(`ANALYZE TABLE ${DB}.${table}`);
}

async function differences(table: string): Promise<string[]> {
  const ctx = await context(table);
  const schemas = await fx.s3.store.listAll(STAGING, `ranges/schemas/ranges/${DB}.${table}/`);
  const schema = await loadSchema(ctx, schemas[0]?.key ?? "");
  return tableDifferences(fx.db.admin, `${DB}.${table}`, fx.warehouse.redshift, `public.${table}`, schema);
}

/** The range readers: the children of the children (ReadRanges' execution, then its Distributed Map's items). */
const rangeReaders = (execution: ExecutionRecord): ExecutionRecord[] =>
  execution.children.flatMap((child) => child.children.filter((reader) => reader.name.includes(":RangeReaders:")));

/** A local sync of the table killed (SIGKILL) once one of its ranges is read and another is not: the watermark then. */
async function killedHalfWay(name: string) {
  const ctx = await context(name);
  const { child, exited } = startLocalSync(fx.configDir, "ranges", `${DB}.${name}`);
  for (let i = 0; i < 60_000; i++) {
    const ranges = (await getWatermark(ctx))?.mysql_state.ranges ?? [];
    if (ranges.some((r) => r.done) && ranges.some((r) => !r.done && r.rows > 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  child.kill("SIGKILL");
  expect(await exited).toBe("SIGKILL");
  const killed = await getWatermark(ctx);
  const readAtKill = (killed?.mysql_state.ranges ?? []).filter((r) => r.done).map((r) => r.index);
  expect(readAtKill.length).toBeGreaterThan(0);
  expect(readAtKill.length).toBeLessThan(4);
  return { ctx, windowRows: killed?.mysql_state.window_rows ?? 0, readAtKill };
}

/**
 * The run after the kill (the lease released, as on-call would): it reads only what the killed run had not committed
 * — no file of a range read before the kill — and the table lands once, equal to MySQL.
 */
async function resumedAfterKill(name: string, rows: number, killed: Awaited<ReturnType<typeof killedHalfWay>>): Promise<void> {
  const table = `${DB}.${name}`;
  expect((await mrsync("watermark", "release", "-p", "ranges", "-t", table)).code).toBe(0);
  const resumed = await mrsync("--json", "sync", "pipeline", "-p", "ranges", "-t", table, "--local", "--wait");
  expect(resumed.code, resumed.stderr).toBe(0);
  const line = (JSON.parse(resumed.stdout) as RunSummary).table_results[table];
  expect(line?.status).toBe("success");
  expect(line?.rows_processed).toBe(rows - killed.windowRows);
  const after = await getWatermark(killed.ctx);
  expect(after?.mysql_state.ranges).toEqual([]);
  const secondRun = runStamp(after?.mysql_state.run_started_at ?? "");
  const files = (await fx.s3.store.listAll(STAGING, "ranges/")).map((o) => o.key).filter((key) => tableDataFile(table).test(key) && key.includes(secondRun));
  const rangesReadAgain = new Set(files.map((key) => Number(/_r(\d+)\.parquet$/.exec(key)?.[1])));
  for (const index of killed.readAtKill) expect(rangesReadAgain.has(index), `range ${index}, read before the kill`).toBe(false);
  const loaded = await fx.warehouse.redshift.query(`SELECT count(*), count(DISTINCT (merchant_id, day)) FROM public.${name}`);
  expect(loaded.rows[0]?.map(Number)).toEqual([rows, rows]);
  expect(await differences(name)).toEqual([]);
}

describe("a table read in parallel key ranges", () => {
  it("syncs a 2M-row composite-key table through four range readers, equal to MySQL; full_sync reads its ranges every run", async () => {
    await seed("settlements", ROWS);
    await fx.db.admin.query(`CREATE TABLE ${DB}.rates (code CHAR(3) NOT NULL PRIMARY KEY, rate DECIMAL(12,6))`);
    await fx.db.admin.query(
      `INSERT INTO ${DB}.rates SELECT CONCAT(CHAR(65 + seq DIV 676), CHAR(65 + seq DIV 26 % 26), CHAR(65 + seq % 26)), seq / 1000 FROM seq_0_to_9999`,
    );
    await fx.db.admin.query(`ANALYZE TABLE ${DB}.rates`);
    const execution = await fx.run({ pipeline: "ranges", tables: [`${DB}.settlements`, `${DB}.rates`] });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    const summary = execution.output as RunSummary;
    const line = summary.table_results[`${DB}.settlements`];
    expect(line).toMatchObject({ status: "success", rows_processed: ROWS });
    // The line shows the ranges: each range's rows and MB/s, and the table's read rate while they all read.
    expect(line?.ranges?.count).toBe(4);
    expect(line?.ranges?.per_range.reduce((sum, r) => sum + r.rows, 0)).toBe(ROWS);
    for (const range of line?.ranges?.per_range ?? []) expect(Math.abs(range.rows - ROWS / 4)).toBeLessThan(ROWS / 4 / 8);
    expect(line?.ranges?.mb_per_s).toBeGreaterThan(0);
    expect(line?.ranges?.rows_per_s).toBeGreaterThan(0);
    const readers = rangeReaders(execution);
    expect(readers.filter((r) => r.status === "SUCCEEDED").length).toBe(8);
    expect(readers.every((reader) => reader.historyEvents < 25_000)).toBe(true);
    expect(await differences("settlements")).toEqual([]);
    expect(await differences("rates")).toEqual([]);

    // Mode reconcile compares it in the same four ranges: ReadRanges' readers summarize them, the next call compares.
    await fx.db.admin.query(`UPDATE ${DB}.settlements SET note = 'silent' WHERE merchant_id = 1 AND day < '1950-01-04'`);
    const compared = await fx.run({ pipeline: "ranges", tables: [`${DB}.settlements`], mode: "reconcile" });
    expect(compared.status, compared.cause).toBe("SUCCEEDED");
    expect(rangeReaders(compared).filter((r) => r.status === "SUCCEEDED").length).toBe(4);
    expect((compared.output as RunSummary).table_results[`${DB}.settlements`]).toMatchObject({
      status: "success",
      reconcile: { compared: ROWS, missing: 0, extra: 0, different: 3, reloaded: 3, deleted: 0 },
    });
    expect(await differences("settlements")).toEqual([]);

    // full_sync reads every run from the start: in ranges again, and lands the table as MySQL has it now.
    await fx.db.admin.query(`UPDATE ${DB}.rates SET rate = rate + 1 WHERE code LIKE 'B%'`);
    await fx.db.admin.query(`DELETE FROM ${DB}.rates WHERE code LIKE 'C%'`);
    const again = await fx.run({ pipeline: "ranges", tables: [`${DB}.rates`] });
    expect(again.status, again.cause).toBe("SUCCEEDED");
    expect(rangeReaders(again).length).toBe(4);
    expect(await differences("rates")).toEqual([]);
  }, 600_000);

  it("re-reads the 2M-row table after a watermark reset in ranges; killed half way, the next run reads only the ranges left, nothing lost or doubled", async () => {
    const table = `${DB}.settlements`;
    // The first test's table, synced; alone, this test makes it.
    const [listed] = await fx.db.admin.query(`SHOW TABLES FROM ${DB} LIKE 'settlements'`);
    if ((listed as unknown[]).length === 0) {
      await seed("settlements", ROWS);
      const first = await fx.run({ pipeline: "ranges", tables: [table] });
      if (first.status !== "SUCCEEDED") throw new Error(`the first sync of ${table} ended ${first.status}: ${first.cause ?? ""}`);
    }
    expect((await mrsync("watermark", "reset", "-p", "ranges", "-t", table, "--yes")).code).toBe(0);
    await resumedAfterKill("settlements", ROWS, await killedHalfWay("settlements"));
  }, 600_000);

  it.each([
    ["ledger", "id_only"],
    ["balances", "full_sync"],
  ])(
    "resumes a run killed half way (%s, %s): the ranges it read are not read again, and every row lands once",
    async (name) => {
      await seed(name, 40_000);
      const table = `${DB}.${name}`;
      const killed = await killedHalfWay(name);
      // What on-call sees of the half-read window.
      const status = await mrsync("--json", "status", "-p", "ranges");
      const tables = (JSON.parse(status.stdout) as { tables: { table: string; ranges: unknown }[] }).tables;
      expect(tables.find((t) => t.table === table)?.ranges).toEqual({ read: killed.readAtKill.length, total: 4, rows: killed.windowRows });
      expect((await mrsync("status", "-p", "ranges")).stdout).toContain(`key ranges ${killed.readAtKill.length}/4 read`);
      await resumedAfterKill(name, 40_000, killed);
    },
    300_000,
  );

  it("reconciles a big table in key ranges; killed half way, the next reconcile reads only the ranges left, and finds and repairs every difference once", async () => {
    const rows = 400_000;
    await seed("payouts", rows);
    const table = `${DB}.payouts`;
    const synced = await fx.run({ pipeline: "ranges", tables: [table] });
    expect(synced.status, synced.cause).toBe("SUCCEEDED");
    // What query-based CDC leaves behind: updates that left the key alone, rows gone from Redshift, a row only there.
    await fx.db.admin.query(`UPDATE ${DB}.payouts SET amount = amount + 1 WHERE merchant_id IN (2, 1500, 100000) AND day IN ('1950-01-01', '2024-01-01')`);
    await fx.warehouse.redshift.query(`DELETE FROM public.payouts WHERE merchant_id = 50000`);
    await fx.warehouse.redshift.query(`INSERT INTO public.payouts (merchant_id, day, amount, note) VALUES (5, '1900-01-01', 1.00, 'only here')`);

    // Killed (SIGKILL) once a range is summarized and another is not: max_parallel_ranges 1 reads them one by one.
    const summaries = async () => (await fx.s3.store.listAll(STAGING, `ranges/reconcile/ranges/${table}/`)).filter((o) => /range-\d+\.json$/.test(o.key));
    const doneRanges = async () => {
      const done: { index: number; etag: string }[] = [];
      for (const object of await summaries()) {
        const { value } = await fx.s3.store.getJson(STAGING, object.key);
        const summary = value as { index: number; done: boolean };
        if (summary.done) done.push({ index: summary.index, etag: object.etag });
      }
      return done;
    };
    const { child, exited } = startCli(fx.configDir, ["reconcile", "-p", "ranges", "-t", table, "--local"]);
    let atKill: { index: number; etag: string }[] = [];
    for (let i = 0; i < 6_000 && atKill.length === 0; i++) {
      atKill = await doneRanges();
      if (atKill.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    atKill = await doneRanges();
    expect(atKill.length).toBeGreaterThan(0);
    expect(atKill.length).toBeLessThan(4);

    // Resumed as a report first: only the ranges left are summarized (the repair below compares all anew, as its own plan).
    const resumed = await mrsync("--json", "reconcile", "-p", "ranges", "-t", table, "--dry-run");
    expect(resumed.code).toBe(1);
    const [found] = (JSON.parse(resumed.stdout) as TableReconcile[]).map((r) => r.found);
    expect(found).toMatchObject({ rows: { mysql: rows, redshift: rows - 1 }, missing: 2, extra: 1, different: 3 });
    // The summed summaries differ from Redshift's only where the rows do (a range read twice, or a row in two ranges,
    // would add buckets the row-by-row step then clears).
    expect(found?.differingBuckets).toBeGreaterThan(0);
    expect(found?.differingBuckets).toBeLessThanOrEqual(6);
    // The ranges the killed reconcile had read are taken as read: their summaries were not written again.
    expect(found?.ranges).toMatchObject({ count: 4, readBefore: atKill.map((r) => r.index).sort() });
    const after = await summaries();
    for (const { index, etag } of atKill) expect(after.find((o) => o.key.endsWith(`range-0${index}.json`))?.etag, `range ${index}`).toBe(etag);

    // What on-call reads.
    expect((await mrsync("reconcile", "-p", "ranges", "-t", table, "--dry-run")).stdout).toMatch(/MySQL in 4 key ranges, /);
    const repaired = await mrsync("--json", "reconcile", "-p", "ranges", "-t", table, "--local");
    expect(repaired.code, repaired.stderr).toBe(0);
    const [result] = JSON.parse(repaired.stdout) as TableReconcile[];
    expect(result?.found).toMatchObject({ missing: 2, extra: 1, different: 3, ranges: { count: 4, readBefore: [] } });
    expect(result).toMatchObject({ staged: { rows: 5 }, deleted: 1 });
    expect(result?.after).toMatchObject({ missing: 0, extra: 0, different: 0 });
    expect(await differences("payouts")).toEqual([]);
  }, 300_000);
});
