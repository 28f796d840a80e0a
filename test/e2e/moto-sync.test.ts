/**
 * One whole sync with moto's S3 server (a third-party S3) as the staging and completion store: the real ASL and
 * handlers, watermarks with conditional writes, Parquet multipart uploads, the local Data API's COPY reading from moto,
 * completion markers — then MySQL and the warehouse compared cell by cell.
 */
import { describe, expect, it } from "vitest";
import { loadPipeline } from "#config/loader.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { loadSchema, tableContext } from "#services/sync-context.ts";
import { getWatermark } from "#services/watermarks.ts";
import { tableDifferences } from "../support/compare.ts";
import { testPorts } from "../support/extraction.ts";
import { startTestS3 } from "../support/local-s3.ts";
import { motoAvailable, startMotoS3 } from "../support/moto-s3.ts";
import { COMPLETION, STAGING, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_moto";
const TABLE = `${DB}.orders`;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: moto, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: moto/ }, completion: { bucket: ${COMPLETION} } }
tables:
  ${TABLE}: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, processing: { batch_size: 700 } }
`,
  // Without moto the test below is skipped; the fixture then stands on the local S3 so its hooks still run.
  (buckets) => (motoAvailable ? startMotoS3(buckets) : startTestS3(buckets)),
);

describe.skipIf(!motoAvailable)("a sync on moto's S3 server (skipped where python3 cannot import moto)", () => {
  it("lands every row equal to MySQL, with watermark and completion markers in moto", async () => {
    await fx.db.admin.query(`CREATE TABLE ${TABLE} (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, amount DECIMAL(18,4) NOT NULL, note VARCHAR(40) NULL,
      updated_at DATETIME(6) NOT NULL, KEY (updated_at, id))`);
    await fx.db.admin.query(
      `INSERT INTO ${TABLE} SELECT seq * 7, seq / 3, IF(seq % 5 = 0, NULL, CONCAT('note ✓ ', seq)), NOW(6) - INTERVAL 1 HOUR - INTERVAL (seq DIV 50) SECOND FROM seq_1_to_3000`,
    );
    const execution = await fx.run({ pipeline: "moto", tables: [TABLE] });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    expect((execution.output as RunSummary).table_results[TABLE]).toMatchObject({ status: "success", rows_processed: 3_000, rows_loaded: 3_000 });

    const pipeline = await loadPipeline(fx.configDir, "moto");
    const context = tableContext(testPorts(fx.s3, pipeline), pipeline, TABLE);
    const watermark = await getWatermark(context);
    expect(watermark?.mysql_state).toMatchObject({ status: "success", total_rows: 3_000, lease_expires_at: null });
    const schemas = await fx.s3.store.listAll(STAGING, `moto/schemas/moto/${TABLE}/`);
    const schema = await loadSchema(context, schemas[0]?.key ?? "");
    expect(await tableDifferences(fx.db.admin, TABLE, fx.warehouse.redshift, "public.orders", schema)).toEqual([]);
    const markers = (await fx.s3.store.listAll(COMPLETION, `completion_markers/moto/${TABLE}/`)).map((o) => o.key.split("/").at(-1));
    expect(markers.sort()).toEqual(["completion_marker.txt", "execution_metadata.json", "table_metrics.json"]);
  });
});
