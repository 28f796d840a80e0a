/**
 * Loads running at once into one Redshift schema: four tables of one pipeline (max_parallel_tables: 4), and two
 * pipelines started together. The local Data API runs batches serializable, as Redshift does, so loads that read and
 * write a shared table conflict there as they would on Redshift; none may fail, and every row lands once. Each target
 * table has its own ledger: a long load of one table holds back no other table's load.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";
import { PG_URL } from "../support/postgres.ts";

const DB = "mrsync_test_concurrent";
const TABLES = ["t1", "t2", "t3", "t4", "t5", "t6"] as const;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: wide, source: test_mysql, target: test_redshift, staging: test_staging, processing: { batch_size: 400, max_parallel_tables: 4 }, s3: { isolation_prefix: wide/ } }
tables:
${TABLES.slice(0, 4)
  .map((t) => `  ${DB}.${t}: { cdc_strategy: id_only }`)
  .join("\n")}
`,
);

async function seed(table: string, rows: number): Promise<void> {
  await fx.db.admin.query(`CREATE TABLE ${DB}.${table} (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
  await fx.db.admin.query(`INSERT INTO ${DB}.${table} SELECT seq, seq / 4 FROM seq_1_to_${rows}`);
}

describe("concurrent loads into one schema", () => {
  it("two pipelines started together, each loading tables of the same schema: both succeed", async () => {
    for (const table of TABLES) await seed(table, 1_500);
    // A second pipeline file beside the fixture's (written before any run reads the config).
    await writeFile(
      path.join(fx.configDir, "pipelines", "other.yml"),
      `pipeline: { name: other, source: test_mysql, target: test_redshift, staging: test_staging, processing: { batch_size: 400, max_parallel_tables: 2 }, s3: { isolation_prefix: other/ } }
tables:
  ${DB}.t5: { cdc_strategy: id_only }
  ${DB}.t6: { cdc_strategy: id_only }
`,
    );
    // Deployed with it: the stack grants the new pipeline's prefix.
    await fx.redeploy();
    const [wide, other] = await Promise.all([fx.run({ pipeline: "wide", tables: [`${DB}.t1`, `${DB}.t2`] }), fx.run({ pipeline: "other" })]);
    expect(wide.status, wide.cause).toBe("SUCCEEDED");
    expect(other.status, other.cause).toBe("SUCCEEDED");
    for (const table of ["t1", "t2", "t5", "t6"]) {
      const loaded = await fx.warehouse.redshift.query(`SELECT count(*), count(DISTINCT id) FROM public.${table}`);
      expect(loaded.rows[0]?.map(Number), table).toEqual([1_500, 1_500]);
    }
  });

  it("four tables of one pipeline at once, twice over: no load fails, every row once", async () => {
    for (let round = 0; round < 2; round++) {
      if (round === 1) for (const table of TABLES.slice(0, 4)) await fx.db.admin.query(`INSERT INTO ${DB}.${table} SELECT 10000 + seq, seq FROM seq_1_to_300`);
      const execution = await fx.run({ pipeline: "wide" });
      expect(execution.status, execution.cause).toBe("SUCCEEDED");
      for (const table of TABLES.slice(0, 4)) expect((execution.output as RunSummary).table_results[`${DB}.${table}`]?.status, table).toBe("success");
    }
    for (const table of TABLES.slice(0, 4)) {
      const loaded = await fx.warehouse.redshift.query(`SELECT count(*), count(DISTINCT id) FROM public.${table}`);
      expect(loaded.rows[0]?.map(Number), table).toEqual([1_800, 1_800]);
    }
  });

  it("a load held for 20 s (its COPY) holds back no other table: the second table's load completes meanwhile", async () => {
    const HOLD_MS = 20_000;
    await fx.db.admin.query(`INSERT INTO ${DB}.t3 SELECT 30000 + seq, seq FROM seq_1_to_50`);
    await fx.db.admin.query(`INSERT INTO ${DB}.t4 SELECT 30000 + seq, seq FROM seq_1_to_50`);
    let released = 0;
    // t3's COPY runs inside its load's transaction, after the LOCK of its ledger: held there, as a long COPY would be.
    fx.warehouse.server.setStatementHook(async (_session, statement) => {
      if (/^\s*COPY\b/i.test(statement.sql) && statement.sql.includes(`${DB}.t3/`)) {
        await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
        released = Date.now();
      }
      return undefined;
    });
    try {
      const execution = await fx.run({ pipeline: "wide", tables: [`${DB}.t3`, `${DB}.t4`] });
      expect(execution.status, execution.cause).toBe("SUCCEEDED");
      const lines = (execution.output as RunSummary).table_results;
      expect(lines[`${DB}.t3`]).toMatchObject({ status: "success", rows_loaded: 50 });
      expect(lines[`${DB}.t4`]).toMatchObject({ status: "success", rows_loaded: 50 });
      // t4 loaded, validated and finished while t3's load still held its lock.
      expect(Date.parse(lines[`${DB}.t4`]?.completed_at ?? "")).toBeLessThan(released - HOLD_MS / 2);
    } finally {
      fx.warehouse.server.setStatementHook(undefined);
    }
  }, 60_000);

  it("a load another transaction makes Redshift abort (serializable conflict, ERROR 1023) is submitted again and lands once", async () => {
    // Another writer on the target: a serializable transaction that has updated the row the load replaces, uncommitted.
    const url = new URL(PG_URL);
    url.pathname = `/${DB}`;
    const other = new pg.Client({ connectionString: url.toString() });
    await other.connect();
    try {
      await fx.db.admin.query(`INSERT INTO ${DB}.t1 VALUES (20000, 1)`);
      await other.query("INSERT INTO public.t1 (id, amount) VALUES (20000, 5)");
      await other.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      await other.query("UPDATE public.t1 SET amount = 6 WHERE id = 20000");
      // The load's merge waits for that row; the other transaction then commits, and Redshift (here: Postgres) aborts
      // the load with a serialization failure. The run submits it again, and the merge replaces the row.
      const running = fx.run({ pipeline: "wide", tables: [`${DB}.t1`] });
      let waited = false;
      for (let i = 0; i < 500 && !waited; i++) {
        const waiting = await other.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = $1", [DB]);
        waited = (waiting.rows[0] as { n: number }).n > 0;
        if (!waited) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(waited, "the load waited for the other transaction").toBe(true);
      await other.query("COMMIT");
      const execution = await running;
      expect(execution.status, execution.cause).toBe("SUCCEEDED");
      expect((execution.output as RunSummary).results?.[0]).toMatchObject({ status: "success", rows_loaded: 1 });
    } finally {
      await other.end();
    }
    const loaded = await fx.warehouse.redshift.query("SELECT count(*), count(DISTINCT id), max(CASE WHEN id = 20000 THEN amount END) FROM public.t1");
    expect(loaded.rows[0]?.map(Number)).toEqual([1_801, 1_801, 1]);
  });
});
