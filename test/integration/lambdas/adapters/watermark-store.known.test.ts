/**
 * WatermarkStore.update with the watermark the caller read earlier (`known`, the chunk's commit): the first attempt
 * writes on it without a GET; when another writer changed the watermark since, S3 refuses the stale ETag (412) and the
 * transition is applied again to the watermark as it is now — nothing the other writer wrote is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WatermarkStore } from "#adapters/watermark-store.ts";
import { newWatermark, type Watermark } from "#domain/watermark.ts";
import { startTestS3, type LocalS3Fixture } from "../../../support/local-s3.ts";

const BUCKET = "watermarks";
let s3: LocalS3Fixture;
beforeAll(async () => {
  s3 = await startTestS3([BUCKET]);
});
afterAll(async () => {
  await s3.stop();
});

const identity = { pipeline: "p", table: "s.t", strategy: "id_only" as const };
const addFile =
  (file: string) =>
  (current: Watermark): Watermark => ({
    ...current,
    s3_state: { ...current.s3_state, backup_s3_files: [...current.s3_state.backup_s3_files, file] },
  });

describe("a watermark update on a watermark read earlier", () => {
  it("writes on it when it is current, and applies the change to the current one when another writer came first", async () => {
    const store = new WatermarkStore(s3.store, BUCKET);
    const key = "watermarks/v2/p/s.t.json";
    await store.update(key, identity, () => newWatermark("p", "s.t", "id_only", new Date()));
    const read = await store.get(key);
    const written = await store.update(key, identity, addFile("a.parquet"), undefined, read);
    expect(written.s3_state.backup_s3_files).toEqual(["a.parquet"]);

    const stale = await store.get(key);
    // Another range reader commits in between.
    await store.update(key, identity, addFile("b.parquet"));
    const after = await store.update(key, identity, addFile("c.parquet"), undefined, stale);
    expect(after.s3_state.backup_s3_files).toEqual(["a.parquet", "b.parquet", "c.parquet"]);
    expect((await store.get(key))?.watermark.s3_state.backup_s3_files).toEqual(["a.parquet", "b.parquet", "c.parquet"]);
  });
});
