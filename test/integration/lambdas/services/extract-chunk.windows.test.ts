/**
 * The window of a run, on real MariaDB: chunk queries on a composite key are index range scans; a window MySQL holds
 * more rows of than the extraction read fails before anything is loaded and is read again; late commits at the
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
import { ExtractionShortfallError } from "#services/validate.ts";
import { getWatermark } from "#services/watermarks.ts";
import { contextFor, extractUntilDone, pipelineFromYaml, runExtraction, useExtractionFixture, type RunOutcome } from "../../../support/extraction.ts";

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

describe("the window counted before loading", () => {
  it("fails an extraction MySQL holds more rows of (an out-of-order commit below the cursor), loads nothing of it, and reads the window again", async () => {
    await fx.db.admin.query(`CREATE TABLE payouts (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO payouts SELECT seq, seq / 4 FROM seq_1_to_1000 WHERE seq <> 250`);
    const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.payouts: { cdc_strategy: id_only, processing: { batch_size: 300 } }`);
    const context = contextFor(fx.s3, pipeline, `${DATABASE}.payouts`);
    const started = await begin(context, "run-short-1");
    const first = await extractChunk(context, { runId: "run-short-1", schemaKey: started.schemaKey });
    expect(first.cursor.key).toEqual(["301"]);
    // Id 250 was taken by a transaction that commits only now: an id_only cursor has passed it.
    await fx.db.admin.query("INSERT INTO payouts VALUES (250, 62.5)");
    const failure: unknown = await extractUntilDone(context, "run-short-1", started.schemaKey).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ExtractionShortfallError);
    expect((failure as Error).message).toMatch(
      new RegExp(
        `^${DATABASE}\\.payouts: MySQL holds 1000 row\\(s\\) in the run's window, the extraction read 999 \\(1 short\\); nothing of the window was loaded\\. Likely causes: rows committed late or out of order`,
      ),
    );
    const failed = await getWatermark(context);
    expect(failed?.mysql_state).toMatchObject({ status: "failed", window_rows: 0, lease_expires_at: null });
    expect(failed?.mysql_state.last_error).toMatch(/^ExtractionShortfallError: /);
    // Back to the window's start; nothing of the window listed for validation (it never finished).
    expect(failed?.last_processed_key).toBeNull();
    expect(failed?.s3_state.pending_validation).toEqual([]);

    const again = await runExtraction(context, "run-short-2");
    const ids = await idsIn(files(again));
    expect(ids).toHaveLength(1000);
    expect(new Set(ids).size).toBe(1000);
    const done = await getWatermark(context);
    expect(done?.s3_state.pending_validation).toEqual([expect.objectContaining({ start: { timestamp: null, key: null }, rows: 1000, run_id: "run-short-2" })]);
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
