/**
 * The window of a run, on real MariaDB: chunk queries on a composite key are index range scans; a window MySQL holds
 * more rows of at its end than the extraction read is read again by the same run (a keyless table fails); late commits at the
 * cursor's timestamp are caught by the default lookback; rows inside the settle window wait for the next run.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { RowDataPacket } from "mysql2/promise";
import { describe, expect, it } from "vitest";
import { discoverTable } from "#adapters/mysql.ts";
import { strategyFor } from "#domain/cdc/index.ts";
import { buildTableSchema } from "#domain/table-schema.ts";
import { begin } from "#services/begin.ts";
import { extractChunk } from "#services/extract-chunk.ts";
import { loadGroup } from "#services/submit-load.ts";
import { ExtractionShortfallError } from "#services/validate.ts";
import { getWatermark } from "#services/watermarks.ts";
import {
  contextFor,
  extractUntilDone,
  STAGING_BUCKET,
  pipelineFromYaml,
  runExtraction,
  useExtractionFixture,
  type RunOutcome,
} from "../../../support/extraction.ts";

const DATABASE = "mrsync_test_windows";
const fx = useExtractionFixture(DATABASE);

const files = (outcome: RunOutcome) => outcome.chunks.flatMap((c) => (c.file === undefined ? [] : [c.file]));
async function idsIn(keys: readonly string[], select = "id::VARCHAR AS v"): Promise<string[]> {
  const rows = await fx.reader.read(await fx.reader.fetch(fx.s3, keys), select);
  return rows.map((r) => String(r.v)).sort();
}

describe("chunk queries", () => {
  it("run as index range scans on a composite key (EXPLAIN), id_only on (emp_no, from_date) and hybrid on (updated_at, account_id, seq)", async () => {
    await fx.db.admin.query(`CREATE TABLE salaries (emp_no INT NOT NULL, from_date DATE NOT NULL, salary INT NOT NULL, PRIMARY KEY (emp_no, from_date))`);
    await fx.db.admin.query(
      `INSERT INTO salaries SELECT 10000 + e.seq, DATE('1990-01-01') + INTERVAL y.seq YEAR, 50000 + y.seq FROM seq_1_to_2000 e, seq_0_to_9 y`,
    );
    await fx.db.admin.query(
      `CREATE TABLE postings (account_id INT NOT NULL, seq INT NOT NULL, updated_at DATETIME(6) NOT NULL, PRIMARY KEY (account_id, seq), KEY by_update (updated_at, account_id, seq))`,
    );
    await fx.db.admin.query(`INSERT INTO postings SELECT MOD(seq, 50), seq, TIMESTAMP('2025-01-01') + INTERVAL MOD(seq, 20) MINUTE FROM seq_1_to_20000`);
    await fx.db.admin.query("ANALYZE TABLE salaries, postings");
    const pipeline = pipelineFromYaml(
      DATABASE,
      `  ${DATABASE}.salaries: { cdc_strategy: id_only }
  ${DATABASE}.postings: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at }`,
    );
    const explain = async (table: string, cursor: Parameters<ReturnType<typeof strategyFor>["chunkQuery"]>[0], ceiling: typeof cursor) => {
      const settings = pipeline.tables.find((t) => t.key === `${DATABASE}.${table}`);
      if (settings === undefined) throw new Error(table);
      const discovered = await discoverTable(fx.db.admin, DATABASE, table);
      const query = strategyFor(settings, buildTableSchema(settings, discovered.columns, discovered.primaryKey)).chunkQuery(cursor, ceiling, 1000);
      const [rows] = await fx.db.admin.query<RowDataPacket[]>(`EXPLAIN ${query.sql}`, query.params);
      return rows[0];
    };
    const history = await explain("salaries", { timestamp: null, key: ["10500", "1995-01-01"] }, { timestamp: null, key: ["12000", "1999-01-01"] });
    expect(history).toMatchObject({ type: "range", key: "PRIMARY" });
    const hybrid = await explain(
      "postings",
      { timestamp: "2025-01-01 00:05:00.000000", key: ["10", "1010"] },
      { timestamp: "2025-01-01 00:15:00.000000", key: ["40", "19990"] },
    );
    expect(hybrid).toMatchObject({ type: "range", key: "by_update" });
  });
});

describe("the window counted at its end", () => {
  it("reads a window MySQL holds more rows of (an out-of-order commit below the cursor) again in the same run, as a load of its own", async () => {
    await fx.db.admin.query(`CREATE TABLE payouts (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO payouts SELECT seq, seq / 4 FROM seq_1_to_1000 WHERE seq <> 250`);
    const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.payouts: { cdc_strategy: id_only, processing: { batch_size: 300 } }`);
    const context = contextFor(fx.s3, pipeline, `${DATABASE}.payouts`);
    const started = await begin(context, "run-short-1");
    const first = await extractChunk(context, { runId: "run-short-1", schemaKey: started.schemaKey });
    expect(first.cursor.key).toEqual(["301"]);
    // Id 250 was taken by a transaction that commits only now: an id_only cursor has passed it.
    await fx.db.admin.query("INSERT INTO payouts VALUES (250, 62.5)");
    const rest = await extractUntilDone(context, "run-short-1", started.schemaKey);
    const chunks = [first, ...rest];
    const windowEnd = chunks.findIndex((c) => c.lateRows > 0);
    expect(chunks[windowEnd]?.lateRows, "found at the window's end").toBe(1);
    expect(chunks.at(-1)?.windowsReread, "then read again").toBe(1);
    const own = chunks.slice(0, windowEnd + 1).flatMap((c) => (c.file === undefined ? [] : [c.file]));
    const again = chunks.slice(windowEnd + 1).flatMap((c) => (c.file === undefined ? [] : [c.file]));
    expect(await idsIn(own)).toHaveLength(999);
    const reread = await idsIn(again);
    expect(reread).toHaveLength(1000);
    expect(reread).toContain("250");

    const done = await getWatermark(context);
    expect(done?.mysql_state).toMatchObject({ status: "success", late_windows: [], reread_cursor: null });
    expect(done?.s3_state.pending_validation).toEqual([
      expect.objectContaining({
        start: { timestamp: null, key: null },
        rows: 1000,
        run_id: "run-short-1",
        reread: { attempts: 1, unchanged: 0, mysql_rows: 1000 },
      }),
    ]);
    // The window's own files load first, its re-read by a load of its own: id_only's merge cannot tell two copies
    // of one key apart, so the copy read later must land later.
    const heads = await Promise.all((done?.s3_state.backup_s3_files ?? []).map(async (key) => ({ key, info: await fx.s3.store.head(STAGING_BUCKET, key) })));
    expect(loadGroup(heads).map((h) => h.key)).toEqual(own);
    expect(loadGroup(heads.slice(own.length)).map((h) => h.key)).toEqual(again);
  });

  it("fails a table without a key MySQL holds more rows of at the window's end: re-read rows could not merge", async () => {
    await fx.db.admin.query(`CREATE TABLE events (at DATETIME(6) NOT NULL, what VARCHAR(20) NOT NULL, KEY (at))`);
    await fx.db.admin.query(`INSERT INTO events SELECT TIMESTAMP('2020-01-01') + INTERVAL seq SECOND, 'e' FROM seq_1_to_100 WHERE seq <> 30`);
    const pipeline = pipelineFromYaml(
      DATABASE,
      `  ${DATABASE}.events: { cdc_strategy: timestamp_only, cdc_timestamp_column: at, processing: { batch_size: 40 } }`,
    );
    const context = contextFor(fx.s3, pipeline, `${DATABASE}.events`);
    const started = await begin(context, "run-keyless");
    await extractChunk(context, { runId: "run-keyless", schemaKey: started.schemaKey });
    await fx.db.admin.query(`INSERT INTO events VALUES (TIMESTAMP('2020-01-01') + INTERVAL 30 SECOND, 'late')`);
    const failure: unknown = await extractUntilDone(context, "run-keyless", started.schemaKey).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ExtractionShortfallError);
    expect((failure as Error).message).toMatch(
      new RegExp(
        `^${DATABASE}\\.events: MySQL holds 100 row\\(s\\) in the run's window, the extraction read 99 \\(1 short\\); nothing of the window was loaded\\.`,
      ),
    );
    expect((failure as Error).message).toContain(`mrsync watermark reset -p ${pipeline.name} -t ${DATABASE}.events`);
    const failed = await getWatermark(context);
    expect(failed?.mysql_state).toMatchObject({ status: "failed", lease_expires_at: null, late_windows: [] });
    expect(failed?.s3_state.pending_validation).toEqual([]);
  });
});

describe("late commits", () => {
  const hourAgo = "2020-01-01 00:00:00.000000";
  it("a row committed after a run with the cursor's timestamp and a lower id lands in the next run with default settings (and not with lookback 0)", async () => {
    await fx.db.admin.query(`CREATE TABLE late_orders (id INT NOT NULL PRIMARY KEY, updated_at DATETIME(6) NOT NULL, KEY (updated_at, id))`);
    await fx.db.admin.query(`INSERT INTO late_orders SELECT seq * 10, TIMESTAMP('${hourAgo}') + INTERVAL (seq DIV 100) SECOND FROM seq_1_to_500`);
    const yaml = (extra: string) =>
      pipelineFromYaml(
        DATABASE,
        `  ${DATABASE}.late_orders: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at${extra}, processing: { batch_size: 120 } }`,
      );
    const prefixed = (p: ReturnType<typeof yaml>, prefix: string) => ({ ...p, s3: { ...p.s3, isolation_prefix: prefix } });
    const defaults = contextFor(fx.s3, prefixed(yaml(""), "late-default/"), `${DATABASE}.late_orders`);
    const noLookback = contextFor(fx.s3, prefixed(yaml(", lookback_seconds: 0"), "late-zero/"), `${DATABASE}.late_orders`);
    await runExtraction(defaults, "run-late-d1");
    await runExtraction(noLookback, "run-late-z1");
    const cursor = (await getWatermark(defaults))?.last_mysql_data_timestamp;
    expect(cursor).toBe("2020-01-01T00:00:05.000000Z");
    // Committed late: the cursor's own timestamp, an id below the cursor's (5000).
    await fx.db.admin.query(`INSERT INTO late_orders VALUES (4999, '2020-01-01 00:00:05.000000'), (6000, '2020-01-01 00:00:06.000000')`);
    const next = await runExtraction(defaults, "run-late-d2");
    expect(await idsIn(files(next))).toEqual(expect.arrayContaining(["4999", "6000"]));
    const without = await runExtraction(noLookback, "run-late-z2");
    expect(await idsIn(files(without)), "lookback 0: the late row is behind the cursor").toEqual(["6000"]);
  });

  it("timestamp_only with a key re-reads its lookback too; a row inside the settle window waits for the next run", async () => {
    await fx.db.admin.query(`CREATE TABLE ticks (id INT NOT NULL PRIMARY KEY, at DATETIME(6) NOT NULL, KEY (at))`);
    await fx.db.admin.query(`INSERT INTO ticks SELECT seq, TIMESTAMP('${hourAgo}') + INTERVAL (seq DIV 10) SECOND FROM seq_1_to_100`);
    const pipeline = pipelineFromYaml(
      DATABASE,
      `  ${DATABASE}.ticks: { cdc_strategy: timestamp_only, cdc_timestamp_column: at, settle_seconds: 1, processing: { batch_size: 30 } }`,
    );
    const context = contextFor(fx.s3, pipeline, `${DATABASE}.ticks`);
    await runExtraction(context, "run-ticks-1");
    await fx.db.admin.query(`INSERT INTO ticks VALUES (1000, '2020-01-01 00:00:10.000000'), (1001, NOW(6))`);
    const second = await runExtraction(context, "run-ticks-2");
    const secondIds = await idsIn(files(second));
    expect(secondIds, "the late row at the cursor's timestamp").toContain("1000");
    expect(secondIds, "newer than NOW() - settle_seconds: not yet").not.toContain("1001");
    await sleep(1_200);
    const third = await runExtraction(context, "run-ticks-3");
    expect(await idsIn(files(third))).toContain("1001");
  });
});
