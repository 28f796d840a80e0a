/**
 * Reconcile in key ranges (docs/design.md §13) against a live source: an application inserts, updates and deletes
 * (and holds transactions open) while the ranges are summarized, four readers in this process. Differences made before
 * the comparison are all found; the rows the writer deleted are the only rows found only in Redshift; and the comparison
 * at rest that follows repairs the table to MySQL cell for cell. Two comparisons started at once share one plan.
 */
import { describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { findDifferences } from "#services/reconcile.ts";
import { reconcileAndStage } from "#services/reconcile-repair.ts";
import { loadSchema } from "#services/sync-context.ts";
import { tableDifferences } from "../support/compare.ts";
import { runLiveWriter } from "../support/live-writer.ts";
import { STAGING, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_reconcile_ranges";
const ROWS = 200_000;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: recr, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: recr/ }, processing: { batch_size: 50000 } }
tables:
  ${DB}.events: { cdc_strategy: id_only, cdc_id_column: id, delete_policy: hard, processing: { parallel_ranges: 4 } }
`,
);

describe("reconcile in key ranges, under a live writer", () => {
  it("finds every difference made before it while an application writes, then repairs the table exactly at rest", async () => {
    await fx.db.admin.query(`CREATE TABLE ${DB}.events (id BIGINT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL, note VARCHAR(40))`);
    await fx.db.admin.query(`INSERT INTO ${DB}.events SELECT seq, seq / 100, IF(seq % 7 = 0, NULL, CONCAT('n', seq)) FROM seq_1_to_${ROWS + 10}`);
    await fx.db.admin.query(`ANALYZE TABLE ${DB}.events`);
    const synced = await fx.run({ pipeline: "recr", tables: [`${DB}.events`] });
    expect(synced.status, synced.cause).toBe("SUCCEEDED");
    // Differences the writer never touches (it writes ids up to ROWS, and inserts from 300,000 on).
    await fx.db.admin.query(`UPDATE ${DB}.events SET note = 'silent' WHERE id IN (${ROWS + 1}, ${ROWS + 2}, ${ROWS + 3})`);
    await fx.warehouse.redshift.query(`DELETE FROM public.events WHERE id IN (${ROWS + 4}, ${ROWS + 5})`);
    const before = [ROWS + 1, ROWS + 2, ROWS + 3, ROWS + 4, ROWS + 5].map((id) => JSON.stringify([String(id)]));

    const context = loadContext(await pipelineNamed("recr"), `${DB}.events`);
    const writing = runLiveWriter({
      database: DB,
      tables: [
        {
          name: "events",
          insert: "(id, amount, note) SELECT 300000 + FLOOR(RAND() * 100000), 1, 'live' ON DUPLICATE KEY UPDATE note = 'again'",
          update: "note = 'moved'",
        },
      ],
      durationMs: 2_500,
      autocommitSessions: 2,
      transactionSessions: 1,
      openForMs: { min: 200, max: 800 },
      deleteBelowId: ROWS,
      seed: 11,
    });
    const found = await findDifferences(context);
    const written = await writing;
    expect(written.inserted + written.updated + (written.deleted.get("events")?.size ?? 0)).toBeGreaterThan(0);
    expect(found.report.ranges?.count).toBe(4);
    for (const key of before) expect(found.toLoad.has(key), key).toBe(true);
    // Only in Redshift: rows the writer deleted, nothing else.
    const deleted = written.deleted.get("events") ?? new Set<number>();
    for (const [id] of found.extra) expect(deleted.has(Number(id)), `extra ${id}`).toBe(true);

    // At rest: a new comparison in ranges, repaired through the normal load, leaves the table equal to MySQL.
    const repair = await reconcileAndStage(context, { allowMassDelete: true });
    expect(repair.report.ranges?.readBefore).toEqual([]);
    expect(repair.staged.rows).toBe(repair.report.missing + repair.report.different);
    const loaded = await fx.run({ pipeline: "recr", tables: [`${DB}.events`], mode: "redshift_only" });
    expect(loaded.status, loaded.cause).toBe("SUCCEEDED");
    expect((loaded.output as RunSummary).table_results[`${DB}.events`]?.status).toBe("success");
    // The rows inserted past the watermark's cursor are the next sync's (in flight, not repaired): that sync lands them.
    const [counted] = await fx.db.admin.query({ sql: `SELECT COUNT(*) FROM ${DB}.events WHERE id > ${ROWS + 10}`, rowsAsArray: true });
    expect(repair.report.inFlight).toBe(Number((counted as unknown[][])[0]?.[0]));
    const next = await fx.run({ pipeline: "recr", tables: [`${DB}.events`] });
    expect(next.status, next.cause).toBe("SUCCEEDED");
    const schemas = await fx.s3.store.listAll(STAGING, `recr/schemas/recr/${DB}.events/`);
    const schema = await loadSchema(context, schemas[0]?.key ?? "");
    expect(await tableDifferences(fx.db.admin, `${DB}.events`, fx.warehouse.redshift, "public.events", schema)).toEqual([]);
  }, 300_000);

  it("two comparisons started at once agree on one plan and share its ranges; the next plans anew", async () => {
    const context = loadContext(await pipelineNamed("recr"), `${DB}.events`);
    const [first, second] = await Promise.all([findDifferences(context), findDifferences(context)]);
    for (const found of [first, second]) expect(found.report).toMatchObject({ missing: 0, extra: 0, different: 0, ranges: { count: 4 } });
    expect(second.report.ranges?.plan).toBe(first.report.ranges?.plan);
    expect(first.report.rows.mysql).toBe(second.report.rows.mysql);
    const next = await findDifferences(context);
    expect(next.report.ranges?.plan).not.toBe(first.report.ranges?.plan);
    expect(next.report.ranges?.readBefore).toEqual([]);
  }, 120_000);
});
