/**
 * A late auto-increment commit on an id_only table, through the real ASL: a long transaction takes an id before a
 * run's ceiling and commits after the run. The next run counts the recent windows again, reads the row's window
 * again, lands the row once (the re-read rows merge by key) and says so in its summary (`late_rows`).
 */
import { describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import { RECENT_WINDOWS_KEPT } from "#domain/watermark.ts";
import { whileUncommitted } from "../support/extraction.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_late_commits";
const TABLE = `${DB}.payouts`;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: late, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: late/ } }
tables:
  ${TABLE}: { cdc_strategy: id_only, processing: { batch_size: 25 } }
  ${DB}.quiet: { cdc_strategy: id_only }
  ${DB}.busy: { cdc_strategy: id_only }
`,
);

const values = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `(${from + i}.25)`).join(", ");
const inMysql = async () => (await fx.db.admin.query({ sql: `SELECT id, CAST(amount AS CHAR) FROM ${TABLE} ORDER BY id`, rowsAsArray: true }))[0];
const inRedshift = async () => (await fx.warehouse.redshift.query("SELECT id, amount::text FROM public.payouts ORDER BY id")).rows;
const tableResult = (summary: unknown) => (summary as RunSummary).table_results[TABLE];

describe("an id_only row committed after the run that passed its id", () => {
  it("lands with the next run, exactly once, and the summary counts it as late", async () => {
    await fx.db.admin.query(`CREATE TABLE ${TABLE} (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${TABLE} (amount) VALUES ${values(1, 60)}`);
    expect((await fx.run({ pipeline: "late", tables: [TABLE] })).status).toBe("SUCCEEDED");

    await whileUncommitted(`INSERT INTO ${TABLE} (amount) VALUES (61.25)`, async () => {
      await fx.db.admin.query(`INSERT INTO ${TABLE} (amount) VALUES ${values(62, 90)}`);
      const second = await fx.run({ pipeline: "late", tables: [TABLE] });
      expect(second.status, second.cause).toBe("SUCCEEDED");
      expect(tableResult(second.output)).toMatchObject({ status: "success", rows_loaded: 29 });
      expect(tableResult(second.output)?.late_rows).toBeUndefined();
    });
    expect((await inRedshift()).length, "61 is behind the cursor now").toBe(89);

    const third = await fx.run({ pipeline: "late", tables: [TABLE] });
    expect(third.status, third.cause).toBe("SUCCEEDED");
    expect(tableResult(third.output)).toMatchObject({ status: "success", late_rows: 1, rows_processed: 30 });
    expect(await inRedshift()).toEqual(await inMysql());
  });

  it("a late row hidden from the count by a delete, on a table with nothing new: found by Finish, queued, read by the next run", async () => {
    const QUIET = `${DB}.quiet`;
    await fx.db.admin.query(`CREATE TABLE ${QUIET} (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${QUIET} SELECT seq, seq / 4 FROM seq_1_to_500 WHERE seq <> 480`);
    expect((await fx.run({ pipeline: "late", tables: [QUIET] })).status).toBe("SUCCEEDED");
    // Id 480 commits late; an old row is deleted from the same window: Begin's count of it is what was read.
    await fx.db.admin.query(`INSERT INTO ${QUIET} VALUES (480, 120)`);
    await fx.db.admin.query(`DELETE FROM ${QUIET} WHERE id = 7`);
    const found = await fx.run({ pipeline: "late", tables: [QUIET] });
    expect(found.status, found.cause).toBe("SUCCEEDED");
    expect((found.output as RunSummary).table_results[QUIET]).toMatchObject({ status: "success", rows_processed: 0, late_rows: 1 });
    const read = await fx.run({ pipeline: "late", tables: [QUIET] });
    expect((read.output as RunSummary).table_results[QUIET]).toMatchObject({ status: "success", windows_reread: 1 });
    const row = await fx.warehouse.redshift.query("SELECT amount::text FROM public.quiet WHERE id = 480");
    expect(row.rows).toEqual([["120.00"]]);
  });

  it(`a transaction open across more runs than windows are kept (${String(RECENT_WINDOWS_KEPT)}): its row lands once it commits`, async () => {
    // Runs back to back, each with a new row: windows keep coming while one transaction holds an earlier id. Kept by
    // count, the row's window was gone before it committed (issue 23's live scenario: 33 rows missing until reconcile).
    const BUSY = `${DB}.busy`;
    await fx.db.admin.query(`CREATE TABLE ${BUSY} (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${BUSY} (amount) VALUES ${values(1, 10)}`);
    expect((await fx.run({ pipeline: "late", tables: [BUSY] })).status).toBe("SUCCEEDED");
    await whileUncommitted(`INSERT INTO ${BUSY} (amount) VALUES (11.25)`, async () => {
      for (let i = 0; i < RECENT_WINDOWS_KEPT + 6; i++) {
        await fx.db.admin.query(`INSERT INTO ${BUSY} (amount) VALUES (${String(12 + i)}.25)`);
        const run = await fx.run({ pipeline: "late", tables: [BUSY] });
        expect(run.status, run.cause).toBe("SUCCEEDED");
      }
    });
    const after = await fx.run({ pipeline: "late", tables: [BUSY] });
    expect(after.status, after.cause).toBe("SUCCEEDED");
    expect((after.output as RunSummary).table_results[BUSY]).toMatchObject({ status: "success", late_rows: 1 });
    const busyIn = async (sql: string) => (await fx.db.admin.query({ sql, rowsAsArray: true }))[0];
    const inWarehouse = (await fx.warehouse.redshift.query("SELECT id, amount::text FROM public.busy ORDER BY id")).rows;
    expect(inWarehouse).toEqual(await busyIn(`SELECT id, CAST(amount AS CHAR) FROM ${BUSY} ORDER BY id`));
  });
});
