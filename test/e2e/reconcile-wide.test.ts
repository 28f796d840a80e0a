/**
 * Reconcile within Redshift's limits: a string expression there holds at most 65,535 bytes (a longer `||` is an
 * error, not a truncation), and a statement at most 100 KB. A table whose rows hold two near-full TEXTs and a
 * 100 KB BLOB is compared exactly — wide values enter the row text as digests — and a one-byte change deep in the
 * BLOB is found. The local Data API enforces both limits, so the tests see them.
 */
import { describe, expect, it } from "vitest";
import { RedshiftStatementError, StatementTooLargeError } from "#adapters/redshift-data.ts";
import { rowText } from "#domain/reconcile/canonical.ts";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { findDifferences } from "#services/reconcile.ts";
import type { TableReconcile } from "../../cli/commands/reconcile.ts";
import { runCli } from "../support/cli.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_wide";
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: wide, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: wide/ } }
tables:
  ${DB}.documents: { cdc_strategy: id_only }
`,
);

const reconcile = async () => {
  const run = await runCli(fx.configDir, ["--json", "reconcile", "-p", "wide", "--dry-run"]);
  if (run.stdout === "") throw new Error(`reconcile printed nothing (exit ${run.code}): ${run.stderr}`);
  return (JSON.parse(run.stdout) as TableReconcile[])[0]?.found;
};

describe("reconcile within Redshift's limits", () => {
  it("compares rows of two near-full TEXTs and a 100 KB BLOB exactly, and finds one byte changed deep in the BLOB", async () => {
    await fx.db.admin.query(`CREATE TABLE ${DB}.documents (id INT PRIMARY KEY, body TEXT, notes TEXT, scan MEDIUMBLOB, title VARCHAR(20))`);
    await fx.db.admin.query(
      `INSERT INTO ${DB}.documents SELECT seq, REPEAT(CONCAT('b', seq % 10), 30000), REPEAT('n|', 30000), REPEAT(UNHEX(CONCAT('0', seq % 10, 'FF')), 50000), CONCAT('t', seq) FROM seq_1_to_6`,
    );
    await fx.db.admin.query(`INSERT INTO ${DB}.documents VALUES (7, NULL, '', NULL, NULL)`);
    const execution = await fx.run({ pipeline: "wide" });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");

    const clean = await reconcile();
    expect(clean).toMatchObject({ rows: { mysql: 7, redshift: 7 }, missing: 0, extra: 0, different: 0 });
    expect(clean?.notCompared).toEqual([]);

    // Byte 70,001 of row 3's scan: in the BLOB's third 32,000-byte slice.
    await fx.db.admin.query(`UPDATE ${DB}.documents SET scan = INSERT(scan, 70001, 1, UNHEX('AB')) WHERE id = 3`);
    const changed = await reconcile();
    expect(changed).toMatchObject({ missing: 0, extra: 0, different: 1 });
  });

  it("the row text Redshift computes for these rows stays under 65,535 bytes (the undigested text would not)", async () => {
    const context = { ...loadContext(await pipelineNamed("wide"), `${DB}.documents`), redshift: fx.warehouse.redshift };
    const { compared } = (await findDifferences(context)).shape;
    expect(compared.map((c) => c.name)).toEqual(["id", "body", "notes", "scan", "title"]);
    const { rows } = await fx.warehouse.redshift.query(`SELECT OCTET_LENGTH(${rowText("redshift", compared)}) FROM public.documents ORDER BY id`);
    for (const [length] of rows) expect(Number(length)).toBeLessThan(1_000);
    // The stand-in refuses a string result Redshift could not make.
    await expect(fx.warehouse.redshift.query("SELECT body || notes FROM public.documents WHERE id = 1")).rejects.toThrow(
      /value too long for type character varying\(65535\)/,
    );
  });

  it("a statement over the Data API's 100 KB is refused before it is sent, and by the local Data API if sent", async () => {
    const big = `SELECT '${"é".repeat(60_000)}'`;
    await expect(fx.warehouse.redshift.query(big)).rejects.toThrow(StatementTooLargeError);
    await expect(fx.warehouse.redshift.query(big)).rejects.toThrow(/120\d{3} bytes passes the Redshift Data API's limit of 100000/);
    const { ExecuteStatementCommand } = await import("@aws-sdk/client-redshift-data");
    await expect(fx.warehouse.client.send(new ExecuteStatementCommand({ WorkgroupName: "local", Database: DB, Sql: big }))).rejects.toThrow(
      /exceeds the maximum size of 100000 bytes/,
    );
    expect(RedshiftStatementError).toBeDefined();
  });
});
