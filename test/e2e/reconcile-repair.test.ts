/**
 * `mrsync reconcile --local` tells the truth: its repair load runs as the warehouse identity whatever order the CLI
 * made its clients in (no MRSYNC_WAREHOUSE_ROLE_ARN in the operator's environment), "after repair" is compared only
 * once the repair is loaded, and a repair load that fails exits 1 and never says clean.
 */
import { describe, expect, it } from "vitest";
import { WAREHOUSE_ROLE_ENV } from "#adapters/redshift-data.ts";
import { runCli } from "../support/cli.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_reconcile_repair";
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: repair, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: repair/ } }
tables:
  ${DB}.ledger: { cdc_strategy: id_only, delete_policy: hard }
`,
);

/** The operator's environment: the stand-ins' endpoints, but no warehouse role named. */
const operatorEnv = () => Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== WAREHOUSE_ROLE_ENV));
const inRedshift = async () => (await fx.warehouse.redshift.query("SELECT id, note FROM public.ledger ORDER BY id")).rows.map((r) => r.map(String));

describe("mrsync reconcile --local", () => {
  it("repairs as the warehouse identity whatever order its clients were made in; a failed repair load exits 1 and is never clean", async () => {
    await fx.db.admin.query(`CREATE TABLE ${DB}.ledger (id INT NOT NULL PRIMARY KEY, note VARCHAR(20) NULL)`);
    await fx.db.admin.query(`INSERT INTO ${DB}.ledger SELECT seq, IF(seq % 10 = 0, NULL, CONCAT('n', seq)) FROM seq_1_to_100`);
    expect((await fx.run({ pipeline: "repair" })).status).toBe("SUCCEEDED");

    // A row lost from Redshift and one only there: the CLI compares, deletes, stages the repair and loads it.
    await fx.warehouse.redshift.query("DELETE FROM public.ledger WHERE id = 7");
    await fx.warehouse.redshift.query("INSERT INTO public.ledger (id, note) VALUES (900, 'only here')");
    const repaired = await runCli(fx.configDir, ["reconcile", "-p", "repair", "--local"], operatorEnv());
    expect(repaired.code, repaired.stderr + repaired.stdout).toBe(0);
    expect(repaired.stdout).toContain("repaired: 1 row(s) re-loaded, 1 deleted");
    expect(repaired.stdout).toContain("after repair: clean");
    const [mysqlRows] = await fx.db.admin.query({ sql: `SELECT id, COALESCE(note, 'null') FROM ${DB}.ledger ORDER BY id`, rowsAsArray: true });
    expect((await inRedshift()).map(([id, note]) => [id, note === "null" ? "null" : note])).toEqual((mysqlRows as unknown[][]).map((r) => r.map(String)));

    // The repair cannot load (an administrator made the column NOT NULL; the missing rows' notes are NULL).
    await fx.warehouse.redshift.query("DELETE FROM public.ledger WHERE note IS NULL");
    await fx.warehouse.redshift.query("ALTER TABLE public.ledger ALTER COLUMN note SET NOT NULL");
    const failed = await runCli(fx.configDir, ["reconcile", "-p", "repair", "--local"], operatorEnv());
    expect(failed.code, failed.stdout).toBe(1);
    expect(failed.stdout).toMatch(/REPAIR FAILED: the repair load \S+ ended failed: RedshiftStatementError .*; 10 row\(s\) stay staged/);
    expect(failed.stdout).not.toContain("after repair");
    expect(failed.stdout).not.toMatch(/^clean/m);
  });
});
