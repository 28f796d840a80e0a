/**
 * The watermark as operators and failures see it: get/reset/set, a failed run resumed from its last committed
 * chunk, and a damaged watermark object reported clearly.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { begin } from "#services/begin.ts";
import { failRun } from "#domain/watermark.ts";
import { updateWatermark } from "#services/sync-context.ts";
import { extractChunk } from "#services/extract-chunk.ts";
import { getWatermark, resetWatermark, setWatermark } from "#services/watermarks.ts";
import { contextFor, extractUntilDone, pipelineFromYaml, runExtraction, useExtractionFixture } from "../../../support/extraction.ts";

const DATABASE = "mrsync_test_watermarks";
const fx = useExtractionFixture(DATABASE);

beforeAll(async () => {
  await fx.db.admin.query("CREATE TABLE events (id BIGINT UNSIGNED PRIMARY KEY, payload VARCHAR(20))");
  await fx.db.admin.query("INSERT INTO events VALUES ?", [Array.from({ length: 3000 }, (_, i) => [String(9_007_199_254_740_000n + BigInt(i)), `p${i}`])]);
});
function context(prefix: string) {
  const yaml = pipelineFromYaml(DATABASE, `  ${DATABASE}.events: { cdc_strategy: id_only, cdc_id_column: id, processing: { batch_size: 1000 } }`);
  return contextFor(fx.s3, { ...yaml, s3: { ...yaml.s3, isolation_prefix: `${prefix}/` } }, `${DATABASE}.events`);
}

async function ids(keys: readonly (string | undefined)[]): Promise<string[]> {
  const files = await fx.reader.fetch(
    fx.s3,
    keys.filter((k): k is string => k !== undefined),
  );
  return (await fx.reader.read(files, "id::VARCHAR AS id", "ORDER BY id")).map((r) => r.id as string);
}

const id = (i: number) => String(9_007_199_254_740_000n + BigInt(i));

describe("watermark operations", () => {
  it("get, reset and set", async () => {
    const ctx = context("ops");
    expect(await getWatermark(ctx)).toBeUndefined();
    const first = await runExtraction(ctx, "run-ops-1");
    const after = await getWatermark(ctx);
    expect(after).toMatchObject({ version: 2, table_name: `${DATABASE}.events`, cdc_strategy: "id_only", last_processed_id: id(2999) });
    expect(after?.mysql_state).toMatchObject({ status: "success", total_rows: 3000, last_session_rows: 3000, lease_expires_at: null });
    expect(after?.s3_state.backup_s3_files).toHaveLength(3);

    await setWatermark(ctx, { key: [id(2499)] });
    const tail = await runExtraction(ctx, "run-ops-2");
    expect(await ids(tail.chunks.map((c) => c.file))).toEqual(Array.from({ length: 500 }, (_, i) => id(2500 + i)));

    const reset = await resetWatermark(ctx);
    expect(reset.last_processed_id).toBeNull();
    expect(reset.s3_state.backup_s3_files.length, "pending files survive a reset").toBe(4);
    const again = await runExtraction(ctx, "run-ops-3");
    expect(again.chunks.reduce((n, c) => n + c.rows, 0)).toBe(3000);
    expect(first.chunks.map((c) => c.file)).not.toContain(again.chunks[0]?.file);
  });

  it("refuses a cursor that is not one", async () => {
    const ctx = context("bad-set");
    await expect(setWatermark(ctx, { key: ["12abc"] })).rejects.toThrow('--key: cursor value "12abc" of id is not an integer');
    await expect(setWatermark(ctx, { key: ["1", "2"] })).rejects.toThrow(/--key: .* pages on \(id\): give 1 value\(s\), got \["1","2"\]/);
    await expect(setWatermark(ctx, { timestamp: "yesterday" })).rejects.toThrow(/--timestamp must look like 2025-11-27 15:30:00.123456/);
  });

  it("records a failed run and resumes from its last committed chunk", async () => {
    const ctx = context("resume");
    const started = await begin(ctx, "run-fail");
    const committed = await extractChunk(ctx, { runId: "run-fail", schemaKey: started.schemaKey });
    await updateWatermark(ctx, (current) => failRun(current, "run-fail", "COPY failed: column count mismatch", ctx.now()));
    const failed = await getWatermark(ctx);
    expect(failed?.mysql_state).toMatchObject({ status: "failed", last_error: "COPY failed: column count mismatch", lease_expires_at: null });
    expect(failed?.last_processed_id).toBe(id(999));

    const resumed = await begin(ctx, "run-resume");
    expect(resumed.cursor.key).toEqual([id(999)]);
    const rest = await extractUntilDone(ctx, "run-resume", resumed.schemaKey);
    expect(await ids([committed.file, ...rest.map((c) => c.file)])).toEqual(Array.from({ length: 3000 }, (_, i) => id(i)));
    expect((await getWatermark(ctx))?.s3_state.backup_s3_files).toHaveLength(3);
  });

  it("reports a damaged watermark object with its key and the fix", async () => {
    const ctx = context("damaged");
    await fx.s3.store.putJson("staging", ctx.watermarkKey, { version: 1, pipeline: "x" });
    await expect(getWatermark(ctx)).rejects.toThrow(
      /damaged\/watermarks\/v2\/test_pipeline\/mrsync_test_watermarks\.events\.json is not a valid v2 watermark \(version: .*; fix it by hand, or delete it to sync the table from the start/,
    );
  });
});
