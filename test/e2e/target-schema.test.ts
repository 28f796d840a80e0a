/**
 * A target schema that does not exist yet: the load creates it where the database user may, and otherwise fails the
 * table naming the schema and the administrator's step — never with the ledger's internal DDL in the message.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import { LocalStateMachine } from "#local/stepfunctions/runner.ts";
import { runCli } from "../support/cli.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_target_schema";
const TABLE = `${DB}.payouts`;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: fresh, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: fresh/ } }
tables:
  ${TABLE}: { cdc_strategy: id_only }
`,
);

beforeAll(async () => {
  // This file's target schema does not exist yet (written before the handlers first read the config).
  const file = path.join(fx.configDir, "connections.yml");
  await writeFile(file, (await readFile(file, "utf8")).replace("schema: public", "schema: settlement_new"));
});

// Without the fixture's grants: the warehouse user as it is after a deploy, before an administrator ran anything.
const run = () =>
  new LocalStateMachine({
    handlers: fx.handlers,
  }).startExecution({ pipeline: "fresh" });

describe("a target schema that does not exist", () => {
  it("fails the table naming the schema and the grants when the user may not create it; creates it when the user may", async () => {
    await fx.db.admin.query(`CREATE TABLE ${TABLE} (id INT PRIMARY KEY, amount DECIMAL(12,2))`);
    await fx.db.admin.query(`INSERT INTO ${TABLE} SELECT seq, seq / 3 FROM seq_1_to_120`);

    const refused = await run();
    expect(refused.status).toBe("FAILED");
    const cause = refused.cause ?? "";
    const line = (JSON.parse(cause.slice(cause.indexOf("{"))) as RunSummary).table_results[TABLE];
    expect(line?.error_type).toBe("TargetSchemaMissingError");
    expect(line?.error_message).toContain("target schema settlement_new does not exist");
    expect(line?.error_message).toContain("mrsync grants -p fresh");
    expect(line?.error_message).not.toContain("mrsync_ledger__");

    // The CLI says it in one line per failed table; the steps' JSON logs (stack traces) only with --debug.
    // As an operator's shell has it: no POWERTOOLS_LOG_LEVEL (the fixture silences the in-process steps).
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "POWERTOOLS_LOG_LEVEL"));
    const quiet = await runCli(fx.configDir, ["--local", "sync", "pipeline", "-p", "fresh"], env);
    expect(quiet.code).toBe(1);
    expect(quiet.stdout).toContain(`FAILED  ${TABLE}: TargetSchemaMissingError: target schema settlement_new does not exist`);
    expect(quiet.stderr).not.toContain('"level":"ERROR"');
    const debug = await runCli(fx.configDir, ["--local", "--debug", "sync", "pipeline", "-p", "fresh"], env);
    expect(debug.stderr + debug.stdout).toContain('"level":"ERROR"');

    // An administrator lets the user create schemas; the next run creates it, and loads what the first extracted.
    await fx.warehouse.redshift.query(`GRANT CREATE ON DATABASE ${DB} TO "IAMR:mrsync-warehouse"`);
    const loaded = await run();
    expect(loaded.status, loaded.cause).toBe("SUCCEEDED");
    const rows = await fx.warehouse.redshift.query("SELECT count(*), count(DISTINCT id) FROM settlement_new.payouts");
    expect(rows.rows[0]?.map(Number)).toEqual([120, 120]);
  });
});
