/**
 * A window read as key ranges (lambdas/services/extract-chunk.ts range mode, domain/range-state.ts) on real MariaDB
 * and the local warehouse: a composite (INT, DATE) key with most rows under one merchant, planned into four ranges
 * bounded by the run's ceiling, read by four readers at once (their commits racing on one watermark), the window then
 * closed by one count, loaded exactly once and equal to MySQL cell by cell. A reader that stops half way is resumed by
 * the next run from its range's cursor, the finished ranges not read again; rows written while the ranges are read
 * land too (late rows below the ceiling re-read, newer ones in the next run).
 */
import { describe, expect, it } from "vitest";
import { connectSource } from "#adapters/mysql.ts";
import { rangeContext } from "#domain/cdc/key-range.ts";
import { planRanges } from "#domain/range-state.ts";
import { failRun, releaseLease } from "#domain/watermark.ts";
import { begin } from "#services/begin.ts";
import { completeLoad } from "#services/complete-load.ts";
import { extractChunk } from "#services/extract-chunk.ts";
import { planKeyRanges } from "#services/key-ranges.ts";
import type { LoadContext } from "#services/load.ts";
import { submitLoad } from "#services/submit-load.ts";
import { validateWindows } from "#services/validate.ts";
import { loadSchema, updateWatermark } from "#services/sync-context.ts";
import { getWatermark } from "#services/watermarks.ts";
import { tableDifferences } from "../../../support/compare.ts";
import { contextFor, pipelineFromYaml, useExtractionFixture, type ChunkQueryRecord } from "../../../support/extraction.ts";
import { useWarehouseFixture } from "../../../support/warehouse.ts";

const DATABASE = "mrsync_test_ranges";
const fx = useExtractionFixture(DATABASE);
const warehouse = useWarehouseFixture(DATABASE, () => fx.s3.store);
function context(table: string, queries?: ChunkQueryRecord[], settings = "cdc_strategy: id_only, cdc_id_column: [merchant_id, day]"): LoadContext {
  const key = `${DATABASE}.${table}`;
  const pipeline = pipelineFromYaml(DATABASE, `  ${key}: { ${settings}, processing: { batch_size: 4000, parallel_ranges: 4 } }`);
  return { ...contextFor(fx.s3, pipeline, key, queries), redshift: warehouse.redshift };
}

/** Begin, then the window's ranges planned (bounded by the ceiling) and recorded, as Begin does for a big first read. */
async function beginInRanges(ctx: LoadContext, runId: string, count: number) {
  const started = await begin(ctx, runId);
  const schema = await loadSchema(ctx, started.schemaKey);
  const keyed = rangeContext(ctx.table, schema);
  const connection = await connectSource(ctx.pipeline.source, { username: ctx.pipeline.source.username ?? "", password: ctx.pipeline.source.password ?? "" });
  try {
    // As Begin bounds them: a key-ordered window by the ceiling's key; hybrid's (a timestamp) not.
    const upTo = ctx.table.cdc_strategy === "hybrid" ? null : started.ceiling.key;
    const table = { key: ctx.table.key, schema: DATABASE, table: ctx.table.sourceTable, from: keyed.from, keyColumns: keyed.key, upTo };
    const ranges = await planKeyRanges(connection, table, count, count);
    await updateWatermark(ctx, (current) => planRanges(current, runId, ranges, ctx.now(), started.schemaKey));
  } finally {
    await connection.end();
  }
  return started;
}

/** One range's reader: its chunks until the range is read (or `stopAfter` chunks: a reader that dies half way). */
async function readRange(ctx: LoadContext, runId: string, schemaKey: string, range: number, stopAfter = Infinity): Promise<number> {
  let chunks = 0;
  while (chunks < stopAfter) {
    const chunk = await extractChunk(ctx, { runId, schemaKey, range });
    chunks++;
    if (chunk.done) break;
  }
  return chunks;
}

async function closeAndLoad(ctx: LoadContext, runId: string, schemaKey: string): Promise<void> {
  for (let chunk = await extractChunk(ctx, { runId, schemaKey }); !chunk.done; chunk = await extractChunk(ctx, { runId, schemaKey }));
  await updateWatermark(ctx, (current) => releaseLease(current, runId, ctx.now()));
  for (let submission = await submitLoad(ctx); submission !== undefined; submission = await submitLoad(ctx)) {
    const state = submission.statementId === null ? undefined : await ctx.redshift.wait(submission.statementId);
    await completeLoad(ctx, submission, state);
  }
}

/** A table keyed on (merchant_id, day), as the tests below fill it. */
const createKeyed = (table: string) =>
  fx.db.admin.query(
    `CREATE TABLE ${table} (merchant_id INT NOT NULL, day DATE NOT NULL, amount DECIMAL(12,2) NOT NULL, note VARCHAR(40), PRIMARY KEY (merchant_id, day))`,
  );

async function differences(ctx: LoadContext, schemaKey: string): Promise<string[]> {
  const table = ctx.table.sourceTable;
  return tableDifferences(fx.db.admin, `\`${DATABASE}\`.\`${table}\``, warehouse.redshift, `public.${table}`, await loadSchema(ctx, schemaKey));
}

describe("a window read as key ranges", () => {
  it("reads four ranges at once into files of their own, closes the window with one count, and loads every row once", async () => {
    await createKeyed("settlements");
    await fx.db.admin.query(
      "INSERT INTO settlements SELECT 7, DATE_ADD('1900-01-01', INTERVAL seq DAY), seq / 100, IF(seq % 3 = 0, NULL, CONCAT('n', seq)) FROM seq_1_to_30000",
    );
    await fx.db.admin.query("INSERT INTO settlements SELECT seq, '2024-02-29', seq / 7, 'sparse' FROM seq_1_to_20000 WHERE seq <> 7");
    await fx.db.admin.query("ANALYZE TABLE settlements");
    const ctx = context("settlements");
    const started = await beginInRanges(ctx, "ranges-1", 4);
    const planned = (await getWatermark(ctx))?.mysql_state.ranges ?? [];
    expect(planned.map((r) => r.index)).toEqual([0, 1, 2, 3]);

    const chunks = await Promise.all(planned.map((r) => readRange(ctx, "ranges-1", started.schemaKey, r.index)));
    const read = (await getWatermark(ctx))?.mysql_state;
    expect(read?.ranges.every((r) => r.done)).toBe(true);
    expect(read?.ranges.reduce((sum, r) => sum + r.rows, 0)).toBe(49_999);
    expect(read?.window_rows).toBe(49_999);
    for (const r of read?.ranges ?? []) expect(Math.abs(r.rows - 49_999 / 4)).toBeLessThan(49_999 / 4 / 8);
    expect(chunks.every((n) => n >= 3)).toBe(true);
    const files = (await getWatermark(ctx))?.s3_state.backup_s3_files ?? [];
    expect(files.filter((f) => /_batch_\d{4}_r0[0-3]\.parquet$/.test(f))).toHaveLength(files.length);

    await closeAndLoad(ctx, "ranges-1", started.schemaKey);
    const after = await getWatermark(ctx);
    expect(after?.mysql_state.ranges).toEqual([]);
    expect(after?.mysql_state.recent_windows.at(-1)?.rows).toBe(49_999);
    expect(after?.redshift_state.rows_loaded).toBe(49_999);
    expect(await differences(ctx, started.schemaKey)).toEqual([]);
  });

  it("resumes a run whose reader died: only that range is read again, from its cursor; rows written meanwhile land", async () => {
    await createKeyed("ledger");
    await fx.db.admin.query("INSERT INTO ledger SELECT 1 + seq DIV 1000, DATE_ADD('2000-01-01', INTERVAL seq % 1000 DAY), seq, 'seed' FROM seq_0_to_39999");
    await fx.db.admin.query("ANALYZE TABLE ledger");
    const queries: ChunkQueryRecord[] = [];
    const ctx = context("ledger", queries);
    const started = await beginInRanges(ctx, "ranges-2", 4);
    // Ranges 0, 1 and 3 are read; range 2's reader dies after two chunks; the run fails.
    await Promise.all([0, 1, 3].map((r) => readRange(ctx, "ranges-2", started.schemaKey, r)));
    await readRange(ctx, "ranges-2", started.schemaKey, 2, 2);
    const halfway = (await getWatermark(ctx))?.mysql_state.ranges.find((r) => r.index === 2);
    expect(halfway?.done).toBe(false);
    expect(halfway?.rows).toBe(8000);
    await updateWatermark(ctx, (current) => failRun(current, "ranges-2", "Lambda.Unknown: the reader died", ctx.now()));
    // Meanwhile the application writes: a row inside range 0 (read already: below the ceiling, found late), one inside
    // range 2 past its cursor, and one past the ceiling.
    await fx.db.admin.query("INSERT INTO ledger VALUES (1, '1999-12-31', 1.5, 'late'), (30, '1999-12-31', 2.5, 'ahead'), (99, '2000-01-01', 3.5, 'next')");

    // The next run resumes the window with its ranges: range 2 from its cursor, and the last range from its end on to
    // the new ceiling; ranges 0 and 1 are not read again.
    queries.length = 0;
    const resumed = await begin(ctx, "ranges-3");
    const ranges = (await getWatermark(ctx))?.mysql_state.ranges ?? [];
    expect(ranges.filter((r) => !r.done).map((r) => r.index)).toEqual([2, 3]);
    for (const r of ranges) await readRange(ctx, "ranges-3", resumed.schemaKey, r.index);
    const rangeQueries = queries.filter((q) => q.sql.includes("ORDER BY `merchant_id`, `day` LIMIT"));
    // Range 2's rest (10,000 rows less the 8,000 read, and the row written into it), and the row past the old ceiling.
    expect(rangeQueries.reduce((sum, q) => sum + q.rows, 0)).toBe(2_002);
    // The window's count then finds the late row in range 0: the run reads that window again before it ends.
    await closeAndLoad(ctx, "ranges-3", resumed.schemaKey);
    expect((await getWatermark(ctx))?.mysql_state.late_windows).toEqual([]);
    expect(await differences(ctx, resumed.schemaKey)).toEqual([]);
  });

  it("lands every row an application writes while the ranges are read: into ranges read already, not yet, and past the ceiling", async () => {
    await createKeyed("payouts");
    await fx.db.admin.query("INSERT INTO payouts SELECT 1 + seq DIV 500, DATE_ADD('2000-01-01', INTERVAL seq % 500 DAY), seq, 'seed' FROM seq_0_to_39999");
    await fx.db.admin.query("ANALYZE TABLE payouts");
    const ctx = context("payouts");
    const started = await beginInRanges(ctx, "live-1", 4);
    const writing = { on: true };
    let written = 0;
    // Autocommit inserts all over the key: merchants 1..80 (inside every range, read or not) and 81+ (past the ceiling).
    const writer = (async () => {
      while (writing.on) {
        const merchant = 1 + ((written * 37) % 100);
        await fx.db.admin.query("INSERT INTO payouts VALUES (?, DATE_ADD('1990-01-01', INTERVAL ? DAY), ?, 'live')", [merchant, written, written]);
        written++;
      }
    })();
    const ranges = (await getWatermark(ctx))?.mysql_state.ranges ?? [];
    await Promise.all(ranges.map((r) => readRange(ctx, "live-1", started.schemaKey, r.index)));
    writing.on = false;
    await writer;
    expect(written).toBeGreaterThan(10);
    await closeAndLoad(ctx, "live-1", started.schemaKey);
    // The next run takes what lies past the ceiling (and counts the window again).
    const next = await begin(ctx, "live-2");
    await closeAndLoad(ctx, "live-2", next.schemaKey);
    expect(await differences(ctx, started.schemaKey)).toEqual([]);
  });

  it("reads again only the range a late row went into, not the whole window (id_only: a range is a window of its own)", async () => {
    await createKeyed("late_ranges");
    // Every merchant but the multiples of 1,000: the gaps a long transaction's rows commit into late.
    await fx.db.admin.query("INSERT INTO late_ranges SELECT seq, '2024-01-01', seq / 10, 'n' FROM seq_1_to_40000 WHERE seq % 1000 <> 0");
    await fx.db.admin.query("ANALYZE TABLE late_ranges");
    const ctx = context("late_ranges");
    const started = await beginInRanges(ctx, "late-1", 4);
    const ranges = (await getWatermark(ctx))?.mysql_state.ranges ?? [];
    await Promise.all(ranges.map((r) => readRange(ctx, "late-1", started.schemaKey, r.index)));
    // A row committed into the second range after it was read.
    const second = ranges[1];
    const late = Number(second?.after?.[0] ?? "0") + 1000 - (Number(second?.after?.[0] ?? "0") % 1000);
    await fx.db.admin.query("INSERT INTO late_ranges VALUES (?, '2024-01-01', 1, 'late')", [late]);
    const secondRead = (await getWatermark(ctx))?.mysql_state.ranges[1]?.rows ?? 0;
    const closing = await extractChunk(ctx, { runId: "late-1", schemaKey: started.schemaKey });
    expect(closing.lateRows).toBe(1);
    const queued = (await getWatermark(ctx))?.mysql_state.late_windows ?? [];
    expect(queued.map((w) => [w.start?.key ?? null, w.end.key, w.late_rows])).toEqual([[second?.after, second?.up_to, 1]]);
    // The other ranges are windows of their own, validated by the load as any window is.
    const validating = (await getWatermark(ctx))?.s3_state.pending_validation ?? [];
    expect(validating.map((w) => [w.start?.key ?? null, w.end.key])).toEqual(
      ranges.filter((r) => r.index !== 1).map((r) => [r.after, r.up_to ?? started.ceiling.key]),
    );
    // The re-read reads that range (about a quarter of the table), not the 39,960 rows of the window.
    let reread = 0;
    for (let chunk = await extractChunk(ctx, { runId: "late-1", schemaKey: started.schemaKey }); ;) {
      reread += chunk.rows;
      if (chunk.done) break;
      chunk = await extractChunk(ctx, { runId: "late-1", schemaKey: started.schemaKey });
    }
    expect(secondRead).toBeGreaterThan(0);
    expect(reread).toBe(secondRead + 1);
    expect(reread).toBeLessThan(39_960 / 2);
    await closeAndLoad(ctx, "late-1", started.schemaKey);
    const loaded = await getWatermark(ctx);
    expect(loaded?.mysql_state.late_windows).toEqual([]);
    // Finish's validation: the three ranges and the range read again, each a window compared with Redshift, all equal.
    const pending = loaded?.s3_state.pending_validation ?? [];
    expect(pending).toHaveLength(4);
    const report = await validateWindows(ctx, pending);
    expect([report.windows, report.problems, report.late, report.failed]).toEqual([4, [], [], []]);
    // The window's record holds what the re-read added: the next run's recount finds nothing late in it (it would
    // otherwise read all of it again).
    expect(loaded?.mysql_state.recent_windows.at(-1)?.rows).toBe(39_961);
    const next = await begin(ctx, "late-2");
    expect(next.lateRows).toBe(0);
    expect(await differences(ctx, started.schemaKey)).toEqual([]);
  });

  it("reads a hybrid table's first window in key ranges, bounded by its (timestamp, key) ceiling, while the application writes", async () => {
    await fx.db.admin.query(
      "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, updated_at DATETIME(3) NOT NULL, amount DECIMAL(12,2) NOT NULL, KEY (updated_at, id))",
    );
    // Timestamps out of key order: the ranges cut the key, the window cuts the time.
    await fx.db.admin.query("INSERT INTO orders SELECT seq, DATE_ADD('2026-01-01', INTERVAL (seq * 7919) % 40000 SECOND), seq / 10 FROM seq_1_to_40000");
    await fx.db.admin.query("ANALYZE TABLE orders");
    const ctx = context("orders", undefined, "cdc_strategy: hybrid, cdc_timestamp_column: updated_at");
    const started = await beginInRanges(ctx, "hybrid-1", 4);
    expect((await getWatermark(ctx))?.mysql_state.ranges).toHaveLength(4);
    const writing = { on: true };
    let written = 0;
    // Updates (stamped now: past the ceiling, for the next run) and inserts all over the key.
    const writer = (async () => {
      while (writing.on) {
        written++;
        if (written % 2 === 0)
          await fx.db.admin.query("UPDATE orders SET amount = amount + 1, updated_at = NOW(3) WHERE id = ?", [1 + ((written * 37) % 40000)]);
        else await fx.db.admin.query("INSERT INTO orders VALUES (?, NOW(3), ?)", [40000 + written, written]);
      }
    })();
    const ranges = (await getWatermark(ctx))?.mysql_state.ranges ?? [];
    await Promise.all(ranges.map((r) => readRange(ctx, "hybrid-1", started.schemaKey, r.index)));
    writing.on = false;
    await writer;
    await closeAndLoad(ctx, "hybrid-1", started.schemaKey);
    const closed = await getWatermark(ctx);
    // The window ended at the ceiling: the cursor is the ceiling's (timestamp, key), and the next run starts there.
    expect(closed?.last_mysql_data_timestamp).not.toBeNull();
    expect(closed?.mysql_state.ranges).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    // The next run's cursor is the ceiling rewound by the lookback (a timestamp alone): not the start, no ranges.
    const next = await begin(ctx, "hybrid-2", { ranges: true });
    expect(next.ranges).toBeUndefined();
    expect((await getWatermark(ctx))?.mysql_state.ranges).toEqual([]);
    await closeAndLoad(ctx, "hybrid-2", next.schemaKey);
    expect(await differences(ctx, started.schemaKey)).toEqual([]);
  }, 60_000);

  it("reads a timestamp_only table's first window in key ranges of its primary key, whole timestamps up to the ceiling, while the application writes", async () => {
    await fx.db.admin.query(
      "CREATE TABLE events (id INT NOT NULL PRIMARY KEY, happened_at DATETIME(3) NOT NULL, amount DECIMAL(12,2) NOT NULL, KEY (happened_at))",
    );
    // Timestamps out of key order, 40 rows on each: the ranges cut the key, the window cuts whole timestamps.
    await fx.db.admin.query("INSERT INTO events SELECT seq, DATE_ADD('2026-01-01', INTERVAL (seq * 7919) % 1000 SECOND), seq / 10 FROM seq_1_to_40000");
    await fx.db.admin.query("ANALYZE TABLE events");
    const ctx = context("events", undefined, "cdc_strategy: timestamp_only, cdc_timestamp_column: happened_at, settle_seconds: 1");
    // Begin plans them itself: MySQL's primary key cuts the ranges (the cursor has no key).
    const started = await begin(ctx, "events-1", { ranges: true });
    expect(started.ranges).toMatchObject({ left: 4, total: 4 });
    const writing = { on: true };
    let written = 0;
    // Updates stamped now (past the ceiling: the next run's), inserts stamped now, and late commits: inserts stamped
    // inside the window, 30 s before its ceiling (within the lookback, as a transaction committing late stamps them).
    // (A row stamped further back, below the lookback, while updates move rows out of the window, is for reconcile: the
    // window's count is net of both — with one reader as with ranges.)
    const writer = (async () => {
      while (writing.on) {
        written++;
        if (written % 3 === 0)
          await fx.db.admin.query("UPDATE events SET amount = amount + 1, happened_at = NOW(3) WHERE id = ?", [1 + ((written * 37) % 40000)]);
        else if (written % 3 === 1) await fx.db.admin.query("INSERT INTO events VALUES (?, NOW(3), ?)", [40000 + written, written]);
        else
          await fx.db.admin.query("INSERT INTO events VALUES (?, DATE_SUB(?, INTERVAL 30 SECOND), ?)", [40000 + written, started.ceiling.timestamp, written]);
      }
    })();
    const ranges = (await getWatermark(ctx))?.mysql_state.ranges ?? [];
    await Promise.all(ranges.map((r) => readRange(ctx, "events-1", started.schemaKey, r.index)));
    writing.on = false;
    await writer;
    expect(written).toBeGreaterThan(3);
    await closeAndLoad(ctx, "events-1", started.schemaKey);
    const closed = await getWatermark(ctx);
    expect(closed?.mysql_state.ranges).toEqual([]);
    // The cursor is the ceiling: whole timestamps up to it were read.
    expect(closed?.last_mysql_data_timestamp).toBe(`${started.ceiling.timestamp?.replace(" ", "T") ?? ""}Z`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // The next run starts at the ceiling (rewound by the lookback): not the start, no ranges.
    const next = await begin(ctx, "events-2", { ranges: true });
    expect(next.ranges).toBeUndefined();
    await closeAndLoad(ctx, "events-2", next.schemaKey);
    expect(await differences(ctx, started.schemaKey)).toEqual([]);
  }, 60_000);
});
