/**
 * `mrsync reconcile` (report only) on real MariaDB and the local warehouse, after syncs through the state machine:
 * whole tables compared by their unique key find what query-based CDC cannot see — hard deletes, updates that left
 * the cursor alone, NULL turned into '', a row committed behind the cursor, a row only in Redshift — and every §7 type
 * renders identically on both sides (type_coverage reconciles clean).
 */
import { describe, expect, it } from "vitest";
import { seedDemo } from "#local/demo/seed.ts";
import type { ReconcileReport } from "#services/reconcile.ts";
import { runCli } from "../support/cli.ts";
import { MYSQL_URL } from "../support/extraction.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_reconcile";
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: rec, source: test_mysql, target: test_redshift, staging: test_staging, processing: { batch_size: 200, max_parallel_tables: 3 }, s3: { isolation_prefix: rec/ } }
tables:
  ${DB}.accounts: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, cdc_id_column: id }
  ${DB}.links: { cdc_strategy: id_only, cdc_id_column: [owner_id, code] }
  ${DB}.type_coverage: { cdc_strategy: id_only, cdc_id_column: id }
`,
);

const reconcile = async () => {
  const run = await runCli(fx.configDir, ["--json", "reconcile", "-p", "rec"]);
  if (run.stdout === "") throw new Error(`reconcile printed nothing (exit ${run.code}): ${run.stderr}`);
  return { code: run.code, stderr: run.stderr, reports: Object.fromEntries((JSON.parse(run.stdout) as ReconcileReport[]).map((r) => [r.table.split(".")[1] ?? "", r])) };
};

describe("mrsync reconcile", () => {
  it("finds nothing after a clean sync: every §7 type renders identically in MySQL and Redshift", async () => {
    await seedDemo({ mysqlUrl: MYSQL_URL, database: DB, typeCoverage: 600, orders: 1, merchants: 1 });
    await fx.db.admin.query(
      `CREATE TABLE ${DB}.accounts (id INT PRIMARY KEY, name VARCHAR(20) NULL, note VARCHAR(20) NULL, balance DECIMAL(12,2) NOT NULL, updated_at DATETIME(6) NOT NULL, KEY (updated_at, id))`,
    );
    // Equal timestamps, NULLs, '|' and '\\' in text (the canonical text's separator and escape).
    await fx.db.admin.query(
      `INSERT INTO ${DB}.accounts SELECT seq, IF(seq % 3 = 0, NULL, CONCAT('n|', seq)), IF(seq % 4 = 0, 'a\\\\b|c', NULL), seq * 1.25, '2026-01-01 00:00:00' - INTERVAL (seq DIV 50) HOUR FROM seq_1_to_900`,
    );
    await fx.db.admin.query(`CREATE TABLE ${DB}.links (owner_id INT NOT NULL, code VARCHAR(8) NOT NULL, note VARCHAR(10) NULL, PRIMARY KEY (owner_id, code))`);
    await fx.db.admin.query(`INSERT INTO ${DB}.links SELECT seq DIV 3, CONCAT('k', seq % 3), 'same' FROM seq_1_to_300`);
    const execution = await fx.run({ pipeline: "rec" });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");

    const { code, reports } = await reconcile();
    for (const table of ["accounts", "links", "type_coverage"]) {
      expect(reports[table], table).toMatchObject({ missing: 0, extra: 0, different: 0, differingBuckets: 0 });
    }
    expect(reports.type_coverage?.rows).toEqual({ mysql: 600, redshift: 600 });
    expect(reports.type_coverage?.notCompared.map((n) => n.column).sort()).toEqual(["c_double", "c_float"]);
    expect(code).toBe(0);
  });

  it("reports each difference query-based CDC leaves behind, by key, and exits 1", async () => {
    await fx.db.admin.query(`DELETE FROM ${DB}.accounts WHERE id IN (3, 4)`);
    await fx.db.admin.query(`UPDATE ${DB}.accounts SET balance = balance + 0.01 WHERE id = 5`); // cursor untouched
    await fx.db.admin.query(`UPDATE ${DB}.accounts SET name = '' WHERE id = 6`); // NULL → '' (id 6: name was NULL)
    await fx.db.admin.query(`INSERT INTO ${DB}.accounts VALUES (5000, 'late', NULL, 1, '2025-06-01 00:00:00')`); // behind the cursor
    await fx.db.admin.query(`UPDATE ${DB}.links SET note = 'changed' WHERE owner_id = 7 AND code = 'k1'`); // id_only: in place
    await fx.warehouse.redshift.query(`INSERT INTO public.accounts (id, name, balance, updated_at) VALUES (7000, 'ghost', 1, '2026-01-01')`);

    const { code, reports } = await reconcile();
    expect(code).toBe(1);
    expect(reports.accounts).toMatchObject({ missing: 1, extra: 3, different: 2, rows: { mysql: 899, redshift: 901 } });
    expect(reports.accounts?.examples.missing).toEqual([["5000"]]);
    expect(reports.accounts?.examples.extra.map((k) => k[0]).sort()).toEqual(["3", "4", "7000"]);
    expect(reports.accounts?.examples.different.map((k) => k[0]).sort()).toEqual(["5", "6"]);
    expect(reports.links).toMatchObject({ missing: 0, extra: 0, different: 1, examples: { different: [["7", "k1"]] } });
    expect(reports.type_coverage).toMatchObject({ missing: 0, extra: 0, different: 0 });
  });
});
