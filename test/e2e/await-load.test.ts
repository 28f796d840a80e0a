/**
 * Waiting for a load without a Wait state: AwaitLoad long-polls the load's statement right after SubmitLoad, so a
 * COPY that the local Data API holds 2 s is seen finished when it ends (the deployed machine used to wait 15 s before
 * its first look). A COPY held past one AwaitLoad call is awaited again and lands once.
 */
import { describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import type { LambdaHandler } from "#local/stepfunctions/runner.ts";
import type { Load } from "#shared/steps.ts";
import { LONG_POLL_SECONDS } from "#adapters/redshift-data.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_await_load";
const TABLE = `${DB}.payments`;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: awaiting, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: awaiting/ } }
tables:
  ${TABLE}: { cdc_strategy: id_only }
`,
);

/** Holds the table's COPY `ms` in the local Data API (as a slow load would run). */
function holdCopy(ms: number): void {
  fx.warehouse.server.setStatementHook(async (_session, statement) => {
    if (/^\s*COPY\b/i.test(statement.sql) && statement.sql.includes(`${DB}.payments/`)) await new Promise((resolve) => setTimeout(resolve, ms));
    return undefined;
  });
}

/** The real SubmitLoad and AwaitLoad, timed: when each load was submitted, and each AwaitLoad call's answer and time. */
function timed() {
  const submitted: number[] = [];
  const awaited: { at: number; status: string }[] = [];
  const real = (name: string): LambdaHandler => {
    const handler = fx.handlers[name];
    if (handler === undefined) throw new Error(`no handler ${name}`);
    return handler;
  };
  const overrides: Record<string, LambdaHandler> = {
    SubmitLoadFunctionArn: async (event, context) => {
      const load = (await real("SubmitLoadFunctionArn")(event, context)) as Load;
      submitted.push(Date.parse(load.submittedAt));
      return load;
    },
    AwaitLoadFunctionArn: async (event, context) => {
      const answer = (await real("AwaitLoadFunctionArn")(event, context)) as Load;
      awaited.push({ at: Date.now(), status: answer.status ?? "?" });
      return answer;
    },
  };
  return { submitted, awaited, overrides };
}

describe("AwaitLoad: a load seen finished when it finishes", () => {
  it("a load whose statement runs 2 s is seen finished when it ends, by one AwaitLoad call, long before a poll would run out", async () => {
    await fx.db.admin.query(`CREATE TABLE ${TABLE} (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${TABLE} SELECT seq, seq / 3 FROM seq_1_to_500`);
    holdCopy(2_000);
    const { submitted, awaited, overrides } = timed();
    try {
      const execution = await fx.run({ pipeline: "awaiting" }, overrides);
      expect(execution.status, execution.cause).toBe("SUCCEEDED");
      expect((execution.output as RunSummary).table_results[TABLE]).toMatchObject({ status: "success", rows_loaded: 500 });
    } finally {
      fx.warehouse.server.setStatementHook(undefined);
    }
    expect(submitted).toHaveLength(1);
    expect(
      awaited.map((a) => a.status),
      "one call, answered when the statement ended",
    ).toEqual(["FINISHED"]);
    const seenAfter = (awaited[0]?.at ?? 0) - (submitted[0] ?? 0);
    expect(seenAfter, "the COPY was held 2 s").toBeGreaterThanOrEqual(2_000);
    // Not a timing target (a loaded CI host once took 3.07 s): what fails here is an answer that waits out the long
    // poll (20 s) or the old first look after a 15 s Wait state — both past half a long poll after the COPY's end.
    expect(seenAfter, "seen finished long before a long poll or a Wait state would end").toBeLessThan(2_000 + (LONG_POLL_SECONDS * 1000) / 2);
  });

  it("a load running past one AwaitLoad call is awaited again (LoadEnded? → CountPoll → AwaitLoad) and lands once", async () => {
    await fx.db.admin.query(`INSERT INTO ${TABLE} SELECT 500 + seq, seq FROM seq_1_to_20`);
    holdCopy(2_500);
    const { awaited, overrides } = timed();
    // One call waits only 1 s here (a function whose deadline is a second away): the statement outlasts it.
    const real = overrides.AwaitLoadFunctionArn;
    if (real === undefined) throw new Error("no AwaitLoad override");
    overrides.AwaitLoadFunctionArn = (event, context) => real(event, { ...context, getRemainingTimeInMillis: () => 61_000 });
    try {
      const execution = await fx.run({ pipeline: "awaiting" }, overrides);
      expect(execution.status, execution.cause).toBe("SUCCEEDED");
      expect((execution.output as RunSummary).table_results[TABLE]).toMatchObject({ status: "success", rows_loaded: 20 });
    } finally {
      fx.warehouse.server.setStatementHook(undefined);
    }
    const statuses = awaited.map((a) => a.status);
    expect(statuses.length, statuses.join(",")).toBeGreaterThanOrEqual(2);
    expect(statuses.at(-1)).toBe("FINISHED");
    expect(statuses.slice(0, -1).every((s) => s === "SUBMITTED" || s === "PICKED" || s === "STARTED")).toBe(true);
    const rows = await fx.warehouse.redshift.query("SELECT count(*), count(DISTINCT id) FROM public.payments");
    expect(rows.rows[0]?.map(Number)).toEqual([520, 520]);
  });
});
