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

  it("refuses a cursor that is not one: a value the column could never hold, a field the strategy does not read", async () => {
    const ctx = context("bad-set");
    await expect(setWatermark(ctx, { key: ["12abc"] })).rejects.toThrow('--key: id (bigint(20) unsigned): "12abc" is not an integer');
    await expect(setWatermark(ctx, { key: ["1", "2"] })).rejects.toThrow(/--key: .* pages on \(id\): give 1 value\(s\), got \["1","2"\]/);
    // Beyond BIGINT UNSIGNED: the table would read nothing, forever.
    await expect(setWatermark(ctx, { key: ["18446744073709551616"] })).rejects.toThrow(
      "--key: id (bigint(20) unsigned): 18446744073709551616 is outside the column's range 0…18446744073709551615",
    );
    await expect(setWatermark(ctx, { key: ["-1"] })).rejects.toThrow(/outside the column's range 0…/);
    await expect(setWatermark(ctx, { timestamp: "2025-02-28 00:00:00" })).rejects.toThrow(
      `--timestamp: ${DATABASE}.events is id_only, whose cursor is its key alone (give --id or --key)`,
    );
    expect(await getWatermark(ctx), "nothing was written").toBeUndefined();
  });

  it("refuses impossible dates and times on a timestamp strategy; reset brings back any watermark, even one no longer readable", async () => {
    await fx.db.admin.query("CREATE TABLE stamps (id INT NOT NULL PRIMARY KEY, at DATETIME(6) NOT NULL, KEY (at, id))");
    await fx.db.admin.query("INSERT INTO stamps SELECT seq, TIMESTAMP('2025-01-01') + INTERVAL seq MINUTE FROM seq_1_to_100");
    const yaml = pipelineFromYaml(DATABASE, `  ${DATABASE}.stamps: { cdc_strategy: hybrid, cdc_timestamp_column: at }`);
    const ctx = contextFor(fx.s3, { ...yaml, s3: { ...yaml.s3, isolation_prefix: "stamps/" } }, `${DATABASE}.stamps`);
    await runExtraction(ctx, "stamps-1");
    for (const [timestamp, problem] of [
      ["2025-02-30 00:00:00", "2025-02-30 is not a day of the calendar"],
      ["2025-01-01 24:00:00", "24:00:00 is not a time of day"],
      ["2025-13-01 00:00:00", "2025-13-01 is not a day of the calendar"],
      ["0999-12-31 00:00:00", "is before DATETIME's range"],
      ["yesterday", "must look like 2025-11-27 15:30:00.123456"],
    ] as const) {
      await expect(setWatermark(ctx, { timestamp, key: ["3"] }), timestamp).rejects.toThrow(problem);
    }
    await expect(setWatermark(ctx, { key: ["2147483648"] })).rejects.toThrow(
      "--key: id (int(11)): 2147483648 is outside the column's range -2147483648…2147483647",
    );
    const moved = await setWatermark(ctx, { timestamp: "2025-01-01 00:50:00", key: ["50"] });
    expect(moved).toMatchObject({ last_mysql_data_timestamp: "2025-01-01T00:50:00.000000Z", last_processed_key: ["50"] });
    expect((await runExtraction(ctx, "stamps-2")).chunks.reduce((n, c) => n + c.rows, 0)).toBe(50);

    // A watermark left in any state: a half-read late window, a window pending validation with an impossible bound,
    // a ceiling from a gone run — reset leaves nothing of it but the pending files.
    await updateWatermark(ctx, (current) => ({
      ...current,
      mysql_state: {
        ...current.mysql_state,
        status: "in_progress",
        run_id: "gone",
        ceiling: { timestamp: "2025-02-30T00:00:00.000000Z", id: "3", key: ["3"] },
        window_start: { timestamp: "2025-02-30T00:00:00.000000Z", key: ["3"] },
        reread_cursor: { timestamp: "2025-01-01T00:10:00.000000Z", key: ["10"] },
      },
      s3_state: {
        ...current.s3_state,
        pending_validation: [
          {
            start: { timestamp: "2025-02-30T00:00:00.000000Z", key: ["3"] },
            end: { timestamp: "2025-02-31T00:00:00.000000Z", key: ["4"] },
            rows: 1,
            run_id: "gone",
            schema_key: "x",
          },
        ],
      },
    }));
    const reset = await resetWatermark(ctx);
    expect(reset.mysql_state).toMatchObject({
      status: "pending",
      run_id: null,
      ceiling: null,
      window_start: null,
      late_windows: [],
      reread_cursor: null,
      recent_windows: [],
    });
    expect(reset.s3_state.pending_validation).toEqual([]);
    expect((await runExtraction(ctx, "stamps-3")).chunks.reduce((n, c) => n + c.rows, 0)).toBe(100);

    // Not a watermark at all any more: reset replaces it, keeping the files it listed as pending.
    await fx.s3.store.putJson("staging", ctx.watermarkKey, { version: 2, garbage: true, s3_state: { backup_s3_files: ["a.parquet", 7] } });
    const replaced = await resetWatermark(ctx);
    expect(replaced).toMatchObject({ version: 2, table_name: `${DATABASE}.stamps`, last_processed_key: null });
    expect(replaced.s3_state.backup_s3_files).toEqual(["a.parquet"]);
    expect((await getWatermark(ctx))?.mysql_state.status).toBe("pending");
  });

  it("refuses to set a cursor a full_sync table does not have, or a key on timestamp_only", async () => {
    const full = pipelineFromYaml(DATABASE, `  ${DATABASE}.events: { cdc_strategy: full_sync }`);
    await expect(setWatermark(contextFor(fx.s3, full, `${DATABASE}.events`), { key: ["1"] })).rejects.toThrow(
      `${DATABASE}.events is full_sync: it reads the whole table every run, there is no cursor to set`,
    );
    const ticks = pipelineFromYaml(DATABASE, `  ${DATABASE}.stamps: { cdc_strategy: timestamp_only, cdc_timestamp_column: at }`);
    await expect(setWatermark(contextFor(fx.s3, ticks, `${DATABASE}.stamps`), { key: ["1"] })).rejects.toThrow(
      `--id/--key: ${DATABASE}.stamps is timestamp_only, whose cursor is its timestamp alone (give --timestamp)`,
    );
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
      /damaged\/watermarks\/v2\/test_pipeline\/mrsync_test_watermarks\.events\.json is not a valid v2 watermark \(version: .*; reset it \(mrsync watermark reset: the next run re-reads the table\), or fix it by hand/,
    );
  });
});
