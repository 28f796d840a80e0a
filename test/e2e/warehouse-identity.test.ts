/**
 * One warehouse identity, as AWS enforces it: the Data API shows a statement only to the IAM identity that ran it, and
 * each identity is its own database user. The functions submit as the warehouse role and AwaitLoad polls as it;
 * what they create belongs to IAMR:mrsync-warehouse; a target table another user created is
 * loaded only after the administrator runs what `mrsync grants` prints.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { WAREHOUSE_ROLE_ENV } from "#adapters/redshift-data.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { LOCAL_WAREHOUSE_ROLE_ARN, LocalStateMachine, type LambdaHandler } from "#local/stepfunctions/runner.ts";
import { runCli } from "../support/cli.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_identity";
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: identity, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: identity/ } }
tables:
  ${DB}.ledger_entries: { cdc_strategy: id_only, processing: { batch_size: 50 } }
  ${DB}.accounts: { cdc_strategy: id_only }
`,
);

const owners = async () =>
  Object.fromEntries(
    (await fx.warehouse.redshift.query("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => [
      String(r[0]),
      String(r[1]),
    ]),
  );
const machine = (overrides: Record<string, LambdaHandler> = {}) =>
  new LocalStateMachine({ handlers: { ...fx.handlers, ...overrides }, iam: fx.identities.iam });

// A second pipeline, written before the handlers first read the config: a target table the old sync created.
beforeAll(async () => {
  await writeFile(
    path.join(fx.configDir, "pipelines", "legacy.yml"),
    `pipeline: { name: legacy, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: legacy/ } }
tables:
  ${DB}.accounts: { cdc_strategy: id_only, target_name: accounts_legacy }
`,
  );
  // Deployed with it: the stack grants the new pipeline's prefix.
  await fx.redeploy();
});

describe("one warehouse identity", () => {
  it("submits, polls, completes and validates as the warehouse role: its user owns the tables and the ledger", async () => {
    await fx.db.admin.query(`CREATE TABLE ${DB}.ledger_entries (id INT PRIMARY KEY, amount DECIMAL(12,2), memo VARCHAR(20))`);
    await fx.db.admin.query(`INSERT INTO ${DB}.ledger_entries SELECT seq, seq / 7, IF(seq % 5 = 0, NULL, 'same memo') FROM seq_1_to_300`);
    await fx.db.admin.query(`CREATE TABLE ${DB}.accounts (id INT PRIMARY KEY, name VARCHAR(10))`);
    await fx.db.admin.query(`INSERT INTO ${DB}.accounts VALUES (1, 'a'), (2, 'b')`);
    const execution = await fx.run({ pipeline: "identity" });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    const summary = execution.output as RunSummary;
    expect(summary.table_results[`${DB}.ledger_entries`]?.validation).toMatch(/^passed/);
    expect(await owners()).toEqual({
      accounts: "IAMR:mrsync-warehouse",
      ledger_entries: "IAMR:mrsync-warehouse",
      mrsync_ledger__accounts: "IAMR:mrsync-warehouse",
      mrsync_ledger__ledger_entries: "IAMR:mrsync-warehouse",
    });
  });

  it("AwaitLoad polling as its own role (not the warehouse role that submitted) is refused, and the table fails loudly", async () => {
    // The real handler, without the warehouse role in its environment: it asks as the function's own role.
    const real = fx.handlers.AwaitLoadFunctionArn;
    if (real === undefined) throw new Error("no AwaitLoad handler");
    const asItself: LambdaHandler = async (event, context) => {
      const role = process.env[WAREHOUSE_ROLE_ENV];
      process.env[WAREHOUSE_ROLE_ENV] = "";
      try {
        return await real(event, context);
      } finally {
        process.env[WAREHOUSE_ROLE_ENV] = role;
      }
    };
    await fx.db.admin.query(`INSERT INTO ${DB}.accounts VALUES (3, 'c')`);
    const execution = await machine({ AwaitLoadFunctionArn: asItself }).startExecution({ pipeline: "identity", tables: [`${DB}.accounts`] });
    expect(execution.status).toBe("FAILED");
    const line = (JSON.parse((execution.cause ?? "").slice((execution.cause ?? "").indexOf("{"))) as RunSummary).table_results[`${DB}.accounts`];
    expect(line?.error_type).toBe("AccessDeniedException");
    // IAM refuses first: the function's own role has no Data API action (and the statement is not its own).
    expect(line?.error_message).toContain("assumed-role/mrsync-await-load/mrsync-await-load is not authorized to perform: redshift-data:DescribeStatement");

    // The next run with the deployed definition completes the same load, exactly once.
    const again = await machine().startExecution({ pipeline: "identity", tables: [`${DB}.accounts`] });
    expect(again.status, again.cause).toBe("SUCCEEDED");
    const rows = await fx.warehouse.redshift.query("SELECT id, name FROM public.accounts ORDER BY id");
    expect(rows.rows.map((row) => row.map(String))).toEqual([
      ["1", "a"],
      ["2", "b"],
      ["3", "c"],
    ]);
  });

  it("a target table another user created is refused until the administrator runs what `mrsync grants` prints", async () => {
    await fx.warehouse.redshift.query("CREATE TABLE public.accounts_legacy (id INTEGER, name VARCHAR(40))");
    const refused = await machine().startExecution({ pipeline: "legacy" });
    expect(refused.status).toBe("FAILED");
    expect(refused.cause).toMatch(/permission denied|must be owner/);

    const grants = await runCli(fx.configDir, ["grants", "-p", "legacy", "--role-arn", LOCAL_WAREHOUSE_ROLE_ARN]);
    expect(grants.code, grants.stderr).toBe(0);
    expect(grants.stdout).toContain('GRANT USAGE, CREATE ON SCHEMA "public" TO "IAMR:mrsync-warehouse";');
    expect(grants.stdout).toContain('ALTER TABLE "public"."accounts_legacy" OWNER TO "IAMR:mrsync-warehouse";');
    // The administrator runs each statement; the user exists already (the first test signed it in).
    for (const sql of grants.stdout.split("\n").filter((line) => line !== "" && !line.startsWith("--") && !line.startsWith("CREATE USER"))) {
      await fx.warehouse.redshift.query(sql.replace(/;$/, ""));
    }
    const loaded = await machine().startExecution({ pipeline: "legacy" });
    expect(loaded.status, loaded.cause).toBe("SUCCEEDED");
    expect(Number((await fx.warehouse.redshift.query("SELECT count(*) FROM public.accounts_legacy")).rows[0]?.[0])).toBe(3);
  });

  it("`mrsync grants --verify` signs in as the warehouse role and says whether the script names the user Redshift gives it", async () => {
    const verified = await runCli(fx.configDir, ["grants", "-p", "identity", "--verify"]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain("ok: the warehouse role signs in to mrsync_test_identity as IAMR:mrsync-warehouse, the user the script names");
    // A name that differs from Redshift's (here only in case) is caught, with the one to use.
    const wrong = await runCli(fx.configDir, ["grants", "-p", "identity", "--database-user", "iamr:mrsync-warehouse", "--verify"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain("the script names iamr:mrsync-warehouse, but the warehouse role signs in as IAMR:mrsync-warehouse");
  });

  it("`mrsync grants` takes the role from MRSYNC_WAREHOUSE_ROLE_ARN, and says which user it needs when nothing tells", async () => {
    const fromEnv = await runCli(fx.configDir, ["grants", "-p", "identity"]);
    expect(fromEnv.stdout).toContain('GRANT USAGE, CREATE ON SCHEMA "public" TO "IAMR:mrsync-warehouse";');
    const withoutRole = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== WAREHOUSE_ROLE_ENV));
    const missing = await runCli(fx.configDir, ["grants", "-p", "identity"], withoutRole);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("give --role-arn (stack output WarehouseRoleArn) or --database-user");
  });
});
