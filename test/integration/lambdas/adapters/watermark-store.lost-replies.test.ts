/**
 * Lost replies on watermark writes: every conditional PUT of the watermark lands, and its reply is dropped by a
 * loopback proxy, so the SDK retries the same PUT and meets a changed ETag. The counts must stay exact: each
 * transition applied once (rows read, chunk numbers, pending and processed files, rows loaded).
 */
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3ClientConfig, S3Store } from "#adapters/s3.ts";
import { completeLoad } from "#services/complete-load.ts";
import type { LoadContext } from "#services/load.ts";
import { submitLoad } from "#services/submit-load.ts";
import { tableContext } from "#services/sync-context.ts";
import { getWatermark } from "#services/watermarks.ts";
import { pipelineFromYaml, runExtraction, testPorts, useExtractionFixture } from "../../../support/extraction.ts";
import { startFaultyProxy, type FaultyProxy } from "../../../support/faulty-proxy.ts";
import { TEST_CREDENTIALS } from "../../../support/local-s3.ts";
import { useWarehouseFixture } from "../../../support/warehouse.ts";

const DATABASE = "mrsync_test_lost_replies";
const fx = useExtractionFixture(DATABASE);
const warehouse = useWarehouseFixture(DATABASE, () => fx.s3.store);
let proxy: FaultyProxy;
let proxied: S3Store;

beforeAll(async () => {
  proxy = await startFaultyProxy(fx.s3.server.endpoint);
  proxied = new S3Store(new S3Client({ ...s3ClientConfig({ AWS_ENDPOINT_URL_S3: proxy.endpoint }), region: "us-east-1", credentials: TEST_CREDENTIALS }));
});
afterAll(async () => {
  proxied.client.destroy();
  await proxy.close();
});

describe("a watermark write whose reply is lost", () => {
  it("is applied once: exact rows, chunk numbers, files and rows loaded though every watermark reply is dropped", async () => {
    await fx.db.admin.query("CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)");
    await fx.db.admin.query("INSERT INTO orders SELECT seq, seq / 10 FROM seq_1_to_5000");
    const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.orders: { cdc_strategy: id_only, processing: { batch_size: 500 } }`);
    const context: LoadContext = {
      ...tableContext({ ...testPorts(fx.s3, pipeline), s3: proxied }, pipeline, `${DATABASE}.orders`),
      redshift: warehouse.redshift,
    };
    // Every write's first attempt lands and loses its reply; the SDK's retry of it gets an answer (412).
    let dropNext = true;
    proxy.dropReplies(1_000, (req) => {
      if (req.method !== "PUT" || !(req.url ?? "").includes("/watermarks/")) return false;
      dropNext = !dropNext;
      return !dropNext;
    });

    const outcome = await runExtraction(context, "run-lost-1");
    expect(outcome.chunks.at(-1)?.runRows).toBe(5_000);
    for (let submission = await submitLoad(context); submission !== undefined; submission = await submitLoad(context)) {
      await completeLoad(context, submission, submission.statementId === null ? undefined : await warehouse.redshift.wait(submission.statementId));
    }
    proxy.dropReplies(0, () => false);

    const watermark = await getWatermark(context);
    expect(watermark?.mysql_state).toMatchObject({ status: "success", total_rows: 5_000, last_session_rows: 5_000, next_chunk: 10 });
    expect(watermark?.s3_state.backup_s3_files).toEqual([]);
    expect(watermark?.s3_state.processed_s3_files).toHaveLength(10);
    expect(new Set(watermark?.s3_state.processed_s3_files).size).toBe(10);
    expect(watermark?.s3_state.pending_validation).toEqual([expect.objectContaining({ rows: 5_000 })]);
    expect(watermark?.redshift_state.rows_loaded).toBe(5_000);
    expect((await warehouse.redshift.query(`SELECT count(*), count(DISTINCT id) FROM public.orders`)).rows[0]?.map(Number)).toEqual([5_000, 5_000]);
  });
});
