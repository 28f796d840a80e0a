/**
 * Loads running at once into one Redshift schema: four tables of one pipeline (max_parallel_tables: 4), and two
 * pipelines started together. The local Data API runs batches serializable, as Redshift does, so loads that read and
 * write a shared table (the ledger) conflict there as they would on Redshift; none may fail, and every row lands once.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

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
});
