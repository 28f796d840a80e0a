/**
 * The local Data API's bookkeeping as the Data API documents it: ClientToken idempotent for 8 hours (failed statements
 * included); a statement belongs to the IAM identity that ran it; SQL runs as that identity's database user.
 */
import { describe, expect, it } from "vitest";
import { StatementFailure, type SqlEngine, type SqlStatement, type StatementResult } from "#local/redshift/postgres.ts";
import { LocalIdentities } from "#local/redshift/identities.ts";
import { CLIENT_TOKEN_MS, DataApiFailure, StatementStore } from "#local/redshift/statements.ts";

/** An engine whose statements fail while `failing` is set, counting what it ran. */
function engine() {
  const state = { failing: true, runs: 0, users: [] as (string | undefined)[] };
  const sql: SqlEngine = {
    run(_database: string, statements: readonly SqlStatement[], _onPid: (pid: number) => void, user?: string): Promise<StatementResult[]> {
      state.runs++;
      state.users.push(user);
      if (state.failing) return Promise.reject(new StatementFailure(0, 'null value in column "note" violates not-null constraint'));
      return Promise.resolve(statements.map(() => ({ hasResultSet: false, fields: [], rows: [], rowCount: 1 })));
    },
    cancel: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { sql, state };
}

const target = { database: "dev", workgroupName: "local" };
const identities = new LocalIdentities();
const admin = identities.principal("local");
const WAREHOUSE_ROLE = "arn:aws:iam::000000000000:role/mrsync-warehouse";
const OTHER_ROLE = "arn:aws:iam::000000000000:role/mrsync-SubmitLoadFunctionRole";
const session = (roleArn: string, name: string) => identities.principal(identities.assumeRole(roleArn, name).accessKeyId);

describe("local Data API ClientToken", () => {
  it("returns the original statement — a FAILED one too — for 8 hours, without running it again; then runs anew", async () => {
    const { sql, state } = engine();
    let now = 1_000_000;
    const store = new StatementStore(sql, 1000, () => now);
    const first = store.submit(admin, target, ["INSERT INTO t VALUES (1)"], { batch: true, clientToken: "load_abc" });
    await first.done;
    expect(first.status).toBe("FAILED");
    state.failing = false;

    now += CLIENT_TOKEN_MS - 1;
    const again = store.submit(admin, target, ["INSERT INTO t VALUES (1)"], { batch: true, clientToken: "load_abc" });
    await again.done;
    expect(again.id).toBe(first.id);
    expect(again.status).toBe("FAILED");
    expect(state.runs).toBe(1);

    const otherToken = store.submit(admin, target, ["INSERT INTO t VALUES (1)"], { batch: true, clientToken: "load_abc-attempt-2" });
    await otherToken.done;
    expect(otherToken.status).toBe("FINISHED");

    now += 2;
    const expired = store.submit(admin, target, ["INSERT INTO t VALUES (1)"], { batch: true, clientToken: "load_abc" });
    await expired.done;
    expect(expired.id).not.toBe(first.id);
    expect(expired.status).toBe("FINISHED");
    expect(state.runs).toBe(3);
  });
});

describe("local Data API ClientToken and changed requests", () => {
  it("refuses a token reused for other SQL within 8 hours, instead of returning the other statement", async () => {
    const { sql, state } = engine();
    state.failing = false;
    const store = new StatementStore(sql);
    const first = store.submit(admin, target, ["INSERT INTO t VALUES (1)"], { batch: true, clientToken: "load_x-attempt-1" });
    await first.done;
    expect(() => store.submit(admin, target, ["INSERT INTO t VALUES (2)"], { batch: true, clientToken: "load_x-attempt-1" })).toThrow(
      /used within 8 hours for a different request/,
    );
    expect(store.submit(admin, target, ["INSERT INTO t VALUES (1)"], { batch: true, clientToken: "load_x-attempt-1" }).id).toBe(first.id);
    expect(state.runs).toBe(1);
  });
});

describe("local Data API statement ownership", () => {
  const refused = (act: () => unknown) => {
    try {
      act();
    } catch (error) {
      return error instanceof DataApiFailure ? error.type : String(error);
    }
    return "allowed";
  };

  it("lets every session of the submitting role act on a statement, and refuses any other identity", async () => {
    const { sql, state } = engine();
    state.failing = false;
    const store = new StatementStore(sql);
    const submitter = session(WAREHOUSE_ROLE, "mrsync-SubmitLoad");
    const statement = store.submit(submitter, target, ["SELECT 1"], { batch: false });
    await statement.done;

    // The state machine assuming the same role (another session name) is the same owner.
    const poller = session(WAREHOUSE_ROLE, "states-DescribeLoad");
    expect(store.describe(poller, statement.id)).toMatchObject({ Id: statement.id, Status: "FINISHED" });
    expect(store.list(poller, {}).Statements.map((s) => s.Id)).toEqual([statement.id]);

    // Another role, or an administrator's own key, is refused as AWS refuses it.
    const other = session(OTHER_ROLE, "mrsync-CompleteLoad");
    expect(refused(() => store.describe(other, statement.id))).toBe("AccessDeniedException");
    expect(refused(() => store.result(other, statement.id, undefined))).toBe("AccessDeniedException");
    expect(refused(() => store.describe(admin, statement.id))).toBe("AccessDeniedException");
    expect(store.list(other, {}).Statements).toEqual([]);
    await expect(store.cancel(other, statement.id)).rejects.toMatchObject({ type: "AccessDeniedException" });
  });

  it("runs an assumed role's SQL as IAMR:<role>, a cluster DbUser as that user, an administrator's key as the engine's user", async () => {
    const { sql, state } = engine();
    state.failing = false;
    const store = new StatementStore(sql);
    const runs = [
      store.submit(session(WAREHOUSE_ROLE, "a-session"), target, ["SELECT 1"], { batch: false }),
      store.submit(session(WAREHOUSE_ROLE, "a-session"), { database: "dev", clusterIdentifier: "c", dbUser: "etl" }, ["SELECT 1"], { batch: false }),
      store.submit(admin, target, ["SELECT 1"], { batch: false }),
    ];
    await Promise.all(runs.map((r) => r.done));
    expect(state.users).toEqual(["IAMR:mrsync-warehouse", "etl", undefined]);
  });

  it("keeps a ClientToken per identity: another identity's token does not return its statement", async () => {
    const { sql, state } = engine();
    state.failing = false;
    const store = new StatementStore(sql);
    const first = store.submit(session(WAREHOUSE_ROLE, "one"), target, ["SELECT 1"], { batch: false, clientToken: "t" });
    const sameRole = store.submit(session(WAREHOUSE_ROLE, "two"), target, ["SELECT 1"], { batch: false, clientToken: "t" });
    const otherRole = store.submit(session(OTHER_ROLE, "three"), target, ["SELECT 1"], { batch: false, clientToken: "t" });
    await Promise.all([first.done, otherRole.done]);
    expect(sameRole.id).toBe(first.id);
    expect(otherRole.id).not.toBe(first.id);
  });
});
