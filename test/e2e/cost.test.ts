/**
 * The cost estimate of a run, on the real ASL and handlers: every part adds up (per table and per run), the run's
 * state transitions are the states the run entered (children included: a table read in key ranges counts its range
 * readers' child executions), its Lambda invocations the steps it took, and the marker, the summary and
 * `mrsync status` carry it.
 */
import { describe, expect, it } from "vitest";
import { SERVERLESS_MINIMUM_SECONDS, DEFAULT_BASE_RPU, EXECUTION_TRANSITIONS, type CostEstimate } from "#domain/cost.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import type { ExecutionRecord, LambdaHandler } from "#local/stepfunctions/runner.ts";
import { runCli } from "../support/cli.ts";
import { COMPLETION, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_cost";
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: costed, source: test_mysql, target: test_redshift, staging: test_staging, processing: { batch_size: 500, max_parallel_tables: 2 }, s3: { isolation_prefix: costed/ }, completion: { bucket: ${COMPLETION} } }
tables:
  ${DB}.orders: { cdc_strategy: id_only }
  ${DB}.refunds: { cdc_strategy: id_only }
  ${DB}.ledger: { cdc_strategy: id_only, processing: { parallel_ranges: 4 } }
`,
);

const everyExecution = (record: ExecutionRecord): ExecutionRecord[] => [record, ...record.children.flatMap(everyExecution)];

/** The handlers, each call counted (the Lambda invocations the run made). */
function counted(): { overrides: Record<string, LambdaHandler>; invocations: () => number } {
  let calls = 0;
  const overrides = Object.fromEntries(
    Object.entries(fx.handlers).map(([name, handler]) => [
      name,
      ((event, context) => {
        calls++;
        return handler(event, context);
      }) satisfies LambdaHandler,
    ]),
  );
  return { overrides, invocations: () => calls };
}

function expectPartsAddUp(cost: CostEstimate | undefined): CostEstimate {
  if (cost === undefined) throw new Error("no cost estimate");
  const parts = cost.step_functions_usd + cost.lambda_usd + cost.redshift_usd + cost.s3_usd;
  expect(cost.total_usd).toBeCloseTo(parts, 8);
  expect(cost.total_usd).toBeGreaterThan(0);
  return cost;
}

describe("the cost of a run", () => {
  it("a run's estimate: parts add up, transitions are the states entered, invocations the steps taken", async () => {
    await fx.db.admin.query(`CREATE TABLE ${DB}.orders (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${DB}.orders SELECT seq, seq / 3 FROM seq_1_to_1200`);
    await fx.db.admin.query(`CREATE TABLE ${DB}.refunds (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${DB}.refunds SELECT seq, seq / 5 FROM seq_1_to_40`);
    // Read in four key ranges, each by a reader in a child execution of its own.
    await fx.db.admin.query(`CREATE TABLE ${DB}.ledger (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${DB}.ledger SELECT seq, seq / 7 FROM seq_1_to_3000`);
    const { overrides, invocations } = counted();
    const execution = await fx.run({ pipeline: "costed" }, overrides);
    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    const summary = execution.output as RunSummary;
    const run = expectPartsAddUp(summary.cost);
    const tables = Object.values(summary.table_results).map((line) => expectPartsAddUp(line.cost));

    expect(
      execution.children.flatMap(everyExecution).some((child) => child.name.includes(":RangeReaders:")),
      "ledger was read by range readers",
    ).toBe(true);
    expect(run.state_transitions, "the states the run entered, in its child executions too").toBe(
      everyExecution(execution).reduce((n, e) => n + e.stateTransitions, 0),
    );
    expect(run.lambda_invocations, "the steps it took").toBe(invocations());
    // The tables' own steps (ledger's range readers' too), and the execution's six (Entry?, Plan, Tables, Summarize,
    // Failed?, Done).
    expect(run.state_transitions).toBe(tables.reduce((n, t) => n + t.state_transitions, 0) + EXECUTION_TRANSITIONS);
    expect(run.lambda_invocations).toBe(tables.reduce((n, t) => n + t.lambda_invocations, 0) + 2);
    expect(run.s3_requests).toBeGreaterThanOrEqual(tables.reduce((n, t) => n + t.s3_requests, 0));
    expect(run.lambda_gb_seconds).toBeGreaterThanOrEqual(tables.reduce((n, t) => n + t.lambda_gb_seconds, 0) - 0.01);
    // orders: 3 chunks of 500 (the last one reads nothing more), one load each table; both loads within a minute: one span.
    expect(run.redshift_rpu_seconds, "two loads within a minute: one 60 s span of the base capacity").toBe(DEFAULT_BASE_RPU * SERVERLESS_MINIMUM_SECONDS);
    for (const t of tables) expect(t.redshift_rpu_seconds).toBe(DEFAULT_BASE_RPU * SERVERLESS_MINIMUM_SECONDS);
    expect(run.s3_requests, "chunk uploads, watermark reads and writes, manifests, markers").toBeGreaterThan(20);

    // The marker's execution_metadata carries the table's estimate; `mrsync status` shows it.
    const marker = summary.table_results[`${DB}.orders`]?.cost;
    const listed = await fx.s3.store.listAll(COMPLETION, "");
    const metadata = listed.find((o) => o.key.includes("orders") && o.key.endsWith("execution_metadata.json"));
    expect(metadata, listed.map((o) => o.key).join(", ")).toBeDefined();
    const { value } = await fx.s3.store.getJson(COMPLETION, metadata?.key ?? "");
    expect((value as RunSummary).cost).toEqual(marker);
    const status = await runCli(fx.configDir, ["status", "-p", "costed"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`last run ~$${(marker?.total_usd ?? 0).toFixed(6)}`);
  });

  it("a run with nothing new (a load of no files), and one continued in child executions, count every state", async () => {
    const quiet = await fx.run({ pipeline: "costed" });
    expect(quiet.status, quiet.cause).toBe("SUCCEEDED");
    const quietCost = expectPartsAddUp((quiet.output as RunSummary).cost);
    expect(quietCost.state_transitions).toBe(quiet.stateTransitions);
    // Nothing loaded, but id_only's recent windows are counted again in Redshift: the warehouse wakes for one minimum span.
    expect(quietCost.redshift_rpu_seconds).toBe(DEFAULT_BASE_RPU * SERVERLESS_MINIMUM_SECONDS);

    await fx.db.admin.query(`INSERT INTO ${DB}.orders SELECT 1200 + seq, seq FROM seq_1_to_1100`);
    const split = await fx.run({ pipeline: "costed", tables: [`${DB}.orders`], chunk_budget: 1 });
    expect(split.status, split.cause).toBe("SUCCEEDED");
    expect(split.children.length).toBeGreaterThan(0);
    const cost = expectPartsAddUp((split.output as RunSummary).cost);
    const entered = everyExecution(split).reduce((n, e) => n + e.stateTransitions, 0);
    // Each child's own states (its Plan, Map, Summarize, Failed?, Done, and the parent's ContinueInChild, ChildResult)
    // are counted by its Begin.
    expect(cost.state_transitions).toBe(entered);
  });

  it("mode reconcile of a table compared in key ranges counts its range readers too", async () => {
    const { overrides, invocations } = counted();
    const compared = await fx.run({ pipeline: "costed", tables: [`${DB}.ledger`], mode: "reconcile" }, overrides);
    expect(compared.status, compared.cause).toBe("SUCCEEDED");
    expect(
      compared.children.flatMap(everyExecution).some((child) => child.name.includes(":RangeReaders:")),
      "compared by range readers",
    ).toBe(true);
    const summary = compared.output as RunSummary;
    expect(summary.table_results[`${DB}.ledger`]).toMatchObject({ status: "success", reconcile: { missing: 0, extra: 0, different: 0 } });
    const cost = expectPartsAddUp(summary.cost);
    expect(cost.state_transitions, "the states the run entered, the readers' child executions too").toBe(
      everyExecution(compared).reduce((n, e) => n + e.stateTransitions, 0),
    );
    expect(cost.lambda_invocations, "the steps it took").toBe(invocations());
  });
});
