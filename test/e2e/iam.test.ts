/**
 * The stack's IAM, enforced offline: the local stand-ins evaluate every call against the roles, trust policies and
 * bucket policies `cdk synth` writes for this config (local/iam). A run of every step (incremental tables, a failing
 * table, a table read in key ranges by a Distributed Map, markers, a load polled by the state machine) and the
 * operator's reconcile record each decision; then each
 * statement of the stack is dropped in turn and the recorded requests asked again. Every statement must be needed —
 * its removal refuses a request the product made — or be listed below with why no local run can need it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { LOCAL_OPERATOR_ROLE_ARN, LOCAL_OPERATOR_ROLE_ENV } from "#local/endpoints.ts";
import type { Decision, StackAuthorizer } from "#local/iam/authorizer.ts";
import { LOCAL_STATE_MACHINE_ARN } from "#local/stepfunctions/runner.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { runCli } from "../support/cli.ts";
import { COMPLETION, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_iam";
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: iam, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: iam/ }, completion: { bucket: completion } }
tables:
  ${DB}.payments: { cdc_strategy: id_only }
  ${DB}.events: { cdc_strategy: timestamp_only, cdc_timestamp_column: updated_at }
  ${DB}.missing: { cdc_strategy: id_only }
  ${DB}.broken: { cdc_strategy: id_only }
  ${DB}.ledger: { cdc_strategy: id_only, processing: { parallel_ranges: 2, batch_size: 500 } }
`,
);

/**
 * Statements no local run can need, each with the reason. Matched on the statement's actions: what AWS itself uses
 * (logs, traces, the `.sync` integration's polling of a child, service principals assuming the roles).
 */
const NOT_EXERCISED_LOCALLY: { actions: RegExp; why: string }[] = [
  { actions: /^xray:/, why: "X-Ray traces: AWS's Lambda and Step Functions runtimes send them, nothing runs X-Ray here" },
  { actions: /^logs:/, why: "the state machine's CloudWatch Logs delivery, set up by Step Functions" },
  { actions: /^events:/, why: "the managed EventBridge rule `.sync` child executions are followed with, made by Step Functions" },
  { actions: /^states:(DescribeExecution|StopExecution)$/, why: "Step Functions' own polling and stopping of a `.sync` child (the runner runs it inline)" },
  { actions: /^s3:PutBucketNotification$/, why: "the custom resource that configures the staging bucket's notifications at deploy" },
];
/** Trust statements naming AWS services: the Lambda and Step Functions services assume their roles, not this run. */
const servicePrincipal = (statement: Record<string, unknown>) => JSON.stringify(statement.Principal ?? {}).includes('"Service"');

const actionsOf = (statement: Record<string, unknown>) => [statement.Action ?? []].flat() as string[];

let decisions: Decision[];
/** What the scenario's runs ended as (asserted in the first test). */
const outcomes: Record<string, string | undefined> = {};
let iam: StackAuthorizer;

beforeAll(async () => {
  await fx.db.admin.query(`CREATE TABLE ${DB}.payments (id INT PRIMARY KEY, amount DECIMAL(12,2))`);
  await fx.db.admin.query(`INSERT INTO ${DB}.payments SELECT seq, seq / 7 FROM seq_1_to_500`);
  await fx.db.admin.query(`CREATE TABLE ${DB}.events (id INT PRIMARY KEY, updated_at DATETIME(3) NOT NULL, UNIQUE KEY (updated_at, id))`);
  await fx.db.admin.query(`INSERT INTO ${DB}.events SELECT seq, '2026-01-01' + INTERVAL seq SECOND FROM seq_1_to_200`);
  // A table whose load fails (its target column cannot take the type): FailTable records it in the watermark.
  await fx.db.admin.query(`CREATE TABLE ${DB}.broken (id INT PRIMARY KEY, amount DECIMAL(12,2))`);
  await fx.db.admin.query(`INSERT INTO ${DB}.broken VALUES (1, 1.00)`);
  // Read in two key ranges (ReadRanges, RangeReaders' ItemReader as the state machine's role).
  await fx.db.admin.query(`CREATE TABLE ${DB}.ledger (id INT PRIMARY KEY, amount DECIMAL(12,2))`);
  await fx.db.admin.query(`INSERT INTO ${DB}.ledger SELECT seq, seq / 3 FROM seq_1_to_3000`);
  await fx.warehouse.redshift.query("CREATE TABLE public.broken (id INTEGER, amount BOOLEAN)");
  iam = fx.identities.iam as StackAuthorizer;
  iam.recording = true;
  // Two runs: the first sync, then an incremental one; the missing table fails in both (FailTable's grants).
  for (const round of [1, 2]) {
    if (round === 2) await fx.db.admin.query(`INSERT INTO ${DB}.payments VALUES (501, 1.00), (502, 2.00)`);
    const run = await fx.run({ pipeline: "iam" });
    const summary = (run.output ?? JSON.parse((run.cause ?? "").slice((run.cause ?? "").indexOf("{")))) as RunSummary;
    for (const table of ["payments", "events", "missing", "broken", "ledger"])
      outcomes[`run ${String(round)} ${table}`] = summary.table_results[`${DB}.${table}`]?.status;
  }
  // Mode reconcile: ExtractChunk compares with the warehouse in its place (as the warehouse role).
  const reconcile = await fx.run({ pipeline: "iam", mode: "reconcile", tables: [`${DB}.payments`], completion_bucket: COMPLETION });
  outcomes.reconcile = reconcile.status;
  // The operator compares with the warehouse (as the warehouse role, which trusts the operator's role).
  const reconciled = await runCli(fx.configDir, ["reconcile", "-p", "iam", "-t", `${DB}.payments`, "--dry-run"]);
  outcomes["operator's reconcile"] = reconciled.code === 0 ? "exit 0" : `exit ${String(reconciled.code)}: ${reconciled.stderr}`;
  iam.recording = false;
  decisions = [...iam.decisions];
  // A child execution (a table outgrowing one execution's history) starts as the state machine's role: a path the
  // runner takes only for very long tables (test/e2e/history-budget.test.ts); its request is added as the runner makes it.
  const startChild = { caller: iam.stateMachineCaller(), action: "states:StartExecution", resource: LOCAL_STATE_MACHINE_ARN };
  decisions.push({ ...startChild, allowed: await iam.allows(startChild) });
}, 240_000);

describe("the stack's IAM, enforced by the local stand-ins", () => {
  it("every call of a run was decided by the stack's policies, as the identity AWS would make it, and all were allowed", () => {
    expect(outcomes).toEqual({
      ...Object.fromEntries([1, 2].flatMap((round) => ["payments", "events", "ledger"].map((t) => [`run ${String(round)} ${t}`, "success"]))),
      ...Object.fromEntries([1, 2].flatMap((round) => ["missing", "broken"].map((t) => [`run ${String(round)} ${t}`, "failed"]))),
      reconcile: "SUCCEEDED",
      "operator's reconcile": "exit 0",
    });
    expect(decisions.filter((d) => !d.allowed)).toEqual([]);
    const callers = new Set(decisions.map((d) => d.caller.arn.replace(/\/[^/]+$/, "")));
    // Each function as its role, the state machine as its own, the warehouse role's sessions, the operator.
    expect([...callers].sort()).toEqual(
      expect.arrayContaining([
        "arn:aws:sts::000000000000:assumed-role/mrsync-begin",
        "arn:aws:sts::000000000000:assumed-role/mrsync-extract-chunk",
        "arn:aws:sts::000000000000:assumed-role/mrsync-submit-load",
        "arn:aws:sts::000000000000:assumed-role/mrsync-complete-load",
        "arn:aws:sts::000000000000:assumed-role/mrsync-finish",
        "arn:aws:sts::000000000000:assumed-role/mrsync-fail-table",
        "arn:aws:sts::000000000000:assumed-role/mrsync-states",
        "arn:aws:sts::000000000000:assumed-role/mrsync-warehouse",
        "arn:aws:sts::000000000000:assumed-role/mrsync-operator",
      ]),
    );
  });

  it("dropping any one statement the product needs refuses a call it made; every other statement is listed with why", async () => {
    const unexplained: string[] = [];
    let caught = 0;
    for (const { policy, index, statement } of iam.statements()) {
      const mutated = iam.without({ policy, index });
      let refused: Decision | undefined;
      for (const decision of decisions) {
        if (!(await mutated.allows(decision))) {
          refused = decision;
          break;
        }
      }
      if (refused !== undefined) {
        caught++;
        continue;
      }
      const actions = actionsOf(statement);
      const explained =
        statement.Effect === "Deny" ||
        servicePrincipal(statement) ||
        (actions.length > 0 && actions.every((action) => NOT_EXERCISED_LOCALLY.some((rule) => rule.actions.test(action))));
      if (!explained) unexplained.push(`${policy}[${String(index)}]: ${JSON.stringify(statement)}`);
    }
    expect(unexplained, "statements no run needed: remove them from lib/ or say why above").toEqual([]);
    expect(caught).toBeGreaterThanOrEqual(15);
  }, 120_000);

  it("a run on a stack missing a grant fails loudly, naming the refused call (ExtractChunk's staging writes dropped)", async () => {
    const original = fx.identities.iam as StackAuthorizer;
    const extractRole = original.stack.roles.find((role) => role.name === "mrsync-extract-chunk");
    const policy = extractRole?.policies[0];
    const index = policy?.document.Statement.findIndex((s) => actionsOf(s).includes("s3:PutObject")) ?? -1;
    expect(index).toBeGreaterThanOrEqual(0);
    fx.identities.iam = original.without({ policy: policy?.name ?? "", index });
    try {
      await fx.db.admin.query(`INSERT INTO ${DB}.payments VALUES (503, 3.00)`);
      const run = await fx.run({ pipeline: "iam", tables: [`${DB}.payments`] });
      expect(run.status).toBe("FAILED");
      expect(run.cause).toContain("is not authorized to perform: s3:PutObject");
    } finally {
      fx.identities.iam = original;
    }
    // With the grant back, the next run carries the row: nothing lost.
    const again = await fx.run({ pipeline: "iam", tables: [`${DB}.payments`] });
    expect(again.status, again.cause).toBe("SUCCEEDED");
    expect(Number((await fx.warehouse.redshift.query("SELECT count(*) FROM public.payments")).rows[0]?.[0])).toBe(503);
  });

  it("the CLI as an identity the warehouse role's trust policy does not name is refused AssumeRole, and says so", async () => {
    const stranger = await runCli(fx.configDir, ["reconcile", "-p", "iam", "-t", `${DB}.payments`, "--dry-run"], {
      ...process.env,
      [LOCAL_OPERATOR_ROLE_ENV]: "arn:aws:iam::000000000000:role/someone-else",
    });
    expect(stranger.code).not.toBe(0);
    expect(stranger.stderr).toMatch(
      /someone-else.* is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::000000000000:role\/mrsync-warehouse/,
    );
    expect(LOCAL_OPERATOR_ROLE_ARN).toContain("mrsync-operator");
  });
});
