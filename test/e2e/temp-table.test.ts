/**
 * The temp-table pattern (seed: hourly parcel sync) through the CLI: `sync pipeline --local --then-cleanup-source`
 * deletes the synced rows from the MySQL staging table only when MySQL, the run and Redshift agree, then the loaded
 * staged files, then resets the watermark; a mismatch leaves everything where it was.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Watermark } from "#domain/watermark.ts";
import { runCli } from "../support/cli.ts";
import { STAGING, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_temp";
const TABLE = `${DB}.parcel_staging`;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: hourly, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: hourly/ } }
tables:
  ${TABLE}: { cdc_strategy: id_only, cdc_id_column: id, target_name: parcels, processing: { batch_size: 100 } }
`,
);

const mrsync = (...args: string[]) => runCli(fx.configDir, args);

const mysqlCount = async () => Number(((await fx.db.admin.query(`SELECT COUNT(*) AS n FROM ${TABLE}`))[0] as { n: number }[])[0]?.n);
const redshiftCount = async () => Number((await fx.warehouse.redshift.query("SELECT count(*) FROM public.parcels")).rows[0]?.[0]);
const stagedParquet = async () => (await fx.s3.store.listAll(STAGING, "hourly/incremental/")).filter((o) => o.key.endsWith(".parquet")).length;
const watermark = async () => JSON.parse((await mrsync("--json", "watermark", "get", "-p", "hourly", "-t", TABLE)).stdout) as Watermark;
const insert = (from: number, to: number) => fx.db.admin.query(`INSERT INTO ${TABLE} SELECT seq, CONCAT('parcel ', seq), seq / 10 FROM seq_${from}_to_${to}`);
const sync = (...extra: string[]) => mrsync("sync", "pipeline", "-p", "hourly", "--local", ...extra);

describe("temp-table pattern (--then-cleanup-source)", () => {
  it("deletes the synced rows, the loaded files and the cursor only after a validated load; the next hour moves only new rows", async () => {
    await fx.db.admin.query(`CREATE TABLE ${TABLE} (id BIGINT PRIMARY KEY, label VARCHAR(30), weight DECIMAL(8,1))`);
    await insert(1, 300);
    const first = await sync("--then-cleanup-source");
    expect(first.code, first.stderr).toBe(0);
    // 4 staged files: three Parquet chunks and the manifest.
    expect(first.stderr).toContain(`cleaned ${TABLE}: 300 row(s) deleted from MySQL (counts 300/300/300), 4 staged file(s) deleted, watermark reset`);
    expect(await mysqlCount()).toBe(0);
    expect(await redshiftCount()).toBe(300);
    expect(await stagedParquet()).toBe(0);
    expect((await watermark()).last_processed_id).toBeNull();

    await insert(301, 350);
    const second = await sync("--then-cleanup-source");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`cleaned ${TABLE}: 50 row(s) deleted from MySQL (counts 50/50/50)`);
    expect(await mysqlCount()).toBe(0);
    expect(await redshiftCount()).toBe(350);
  });

  it("leaves MySQL, the staged files and the watermark in place when the counts disagree", async () => {
    await insert(351, 400);
    expect((await sync()).code).toBe(0);
    // A row lost on the way (forced): the next run brings one new row, but MySQL holds 51 up to its ceiling.
    await insert(401, 401);
    await fx.warehouse.redshift.query("DELETE FROM public.parcels WHERE id = 380");
    const files = await stagedParquet();
    const refused = await sync("--then-cleanup-source");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `${TABLE}: not cleaned — MySQL holds 51 row(s) up to the run's ceiling, the run processed 1, Redshift holds 50 of them; nothing was deleted`,
    );
    expect(await mysqlCount()).toBe(51);
    expect(await stagedParquet()).toBe(files + 1);
    expect((await watermark()).last_processed_id).toBe("401");
  });

  it("refuses combinations that cannot clean safely", async () => {
    const partial = await sync("--then-cleanup-source", "--limit", "10");
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain("drop --backup-only, --redshift-only and --limit");
    expect(await mysqlCount()).toBe(51);

    // A table whose source rows are deleted on purpose cannot let reconcile delete (or mark) them in Redshift.
    await writeFile(
      path.join(fx.configDir, "pipelines", "hourly-hard.yml"),
      `pipeline: { name: hourly_hard, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: hourly/ } }
tables:
  ${TABLE}: { cdc_strategy: id_only, cdc_id_column: id, target_name: parcels, delete_policy: hard }
`,
    );
    const hard = await mrsync("sync", "pipeline", "-p", "hourly_hard", "--local", "--then-cleanup-source");
    expect(hard.code).toBe(2);
    expect(hard.stderr).toContain(`${TABLE} (delete_policy: hard) would then lose them in Redshift at the next reconcile; set delete_policy: report`);
    expect(await mysqlCount()).toBe(51);
  });
});
