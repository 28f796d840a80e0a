/**
 * lambdas/services/recent-windows.ts on real MariaDB and the local warehouse: id_only's recent windows compared with
 * Redshift range by range find a row committed late even where rows were deleted from the same window since (a whole-
 * window count sees nothing), name just its narrow range, and — over the compare cap — look at the newest keys only.
 */
import { describe, expect, it } from "vitest";
import { completeLoad } from "#services/complete-load.ts";
import type { LoadContext } from "#services/load.ts";
import { lateRangesOfRecentWindows } from "#services/recent-windows.ts";
import { submitLoad } from "#services/submit-load.ts";
import { loadSchema } from "#services/sync-context.ts";
import { getWatermark } from "#services/watermarks.ts";
import { contextFor, pipelineFromYaml, runExtraction, useExtractionFixture } from "../../../support/extraction.ts";
import { useWarehouseFixture } from "../../../support/warehouse.ts";

const DATABASE = "mrsync_test_recent_windows";
const fx = useExtractionFixture(DATABASE);
const warehouse = useWarehouseFixture(DATABASE, () => fx.s3.store);

async function sync(ctx: LoadContext, runId: string): Promise<void> {
  await runExtraction(ctx, runId);
  for (let submission = await submitLoad(ctx); submission !== undefined; submission = await submitLoad(ctx)) {
    const state = submission.statementId === null ? undefined : await ctx.redshift.wait(submission.statementId);
    await completeLoad(ctx, submission, state);
  }
}

describe("id_only's recent windows compared with Redshift", () => {
  it("find a late row that deletes in the same window hide from its count, by its narrow range; over the cap, the newest keys only", async () => {
    await fx.db.admin.query("CREATE TABLE payouts (id BIGINT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)");
    // Ids 1..10000 but 9990 (taken by a transaction still open) and 10 (likewise, early in the table).
    await fx.db.admin.query("INSERT INTO payouts SELECT seq, seq / 4 FROM seq_1_to_10000 WHERE seq NOT IN (10, 9990)");
    const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.payouts: { cdc_strategy: id_only, processing: { batch_size: 4000 } }`);
    const ctx: LoadContext = { ...contextFor(fx.s3, pipeline, `${DATABASE}.payouts`), redshift: warehouse.redshift };
    await sync(ctx, "payouts-1");
    // The transaction commits; the application deletes two old rows meanwhile: the window's count is what was read.
    await fx.db.admin.query("INSERT INTO payouts VALUES (9990, 1), (10, 1)");
    await fx.db.admin.query("DELETE FROM payouts WHERE id IN (5000, 5001)");
    const watermark = await getWatermark(ctx);
    const windows = watermark?.mysql_state.recent_windows ?? [];
    expect(windows.map((w) => w.rows)).toEqual([9998]);
    const schema = await loadSchema(ctx, windows[0]?.schema_key ?? "");

    const late = await lateRangesOfRecentWindows(ctx, schema, windows);
    expect(late.map((l) => [l.window.start?.key, l.window.end.key, l.mysqlRows - l.loadedRows])).toEqual(
      [
        [["9"], ["10"]],
        [["9989"], ["9990"]],
      ].map(([start, end]) => [start, end, 1]),
    );

    // Over the cap (here 1,000 of 9,998 rows): the newest tenth of the keys only — the late id near the ceiling.
    const tail = await lateRangesOfRecentWindows(ctx, schema, windows, 1_000);
    expect(tail.map((l) => l.window.end.key)).toEqual([["9990"]]);
  });
});
