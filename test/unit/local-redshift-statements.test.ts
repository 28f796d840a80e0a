/** The local Data API's ClientToken, as the Data API reference documents it: idempotent for 8 hours, failed statements included. */
import { describe, expect, it } from "vitest";
import { StatementFailure, type SqlEngine, type SqlStatement, type StatementResult } from "#local/redshift/postgres.ts";
import { CLIENT_TOKEN_MS, StatementStore } from "#local/redshift/statements.ts";

/** An engine whose statements fail while `failing` is set, counting what it ran. */
function engine() {
  const state = { failing: true, runs: 0 };
  const sql: SqlEngine = {
    run(_database: string, statements: readonly SqlStatement[]): Promise<StatementResult[]> {
      state.runs++;
      if (state.failing) return Promise.reject(new StatementFailure(0, 'null value in column "note" violates not-null constraint'));
      return Promise.resolve(statements.map(() => ({ hasResultSet: false, fields: [], rows: [], rowCount: 1 })));
    },
    cancel: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { sql, state };
}

const target = { database: "dev", workgroupName: "local" };

describe("local Data API ClientToken", () => {
  it("returns the original statement — a FAILED one too — for 8 hours, without running it again; then runs anew", async () => {
    const { sql, state } = engine();
    let now = 1_000_000;
    const store = new StatementStore(sql, 1000, () => now);
    const first = store.submit(target, ["INSERT INTO t VALUES (1)"], { batch: true, clientToken: "load_abc" });
    await first.done;
    expect(first.status).toBe("FAILED");
    state.failing = false;

    now += CLIENT_TOKEN_MS - 1;
    const again = store.submit(target, ["INSERT INTO t VALUES (1)"], { batch: true, clientToken: "load_abc" });
    await again.done;
    expect(again.id).toBe(first.id);
    expect(again.status).toBe("FAILED");
    expect(state.runs).toBe(1);

    const otherToken = store.submit(target, ["INSERT INTO t VALUES (1)"], { batch: true, clientToken: "load_abc-attempt-2" });
    await otherToken.done;
    expect(otherToken.status).toBe("FINISHED");

    now += 2;
    const expired = store.submit(target, ["INSERT INTO t VALUES (1)"], { batch: true, clientToken: "load_abc" });
    await expired.done;
    expect(expired.id).not.toBe(first.id);
    expect(expired.status).toBe("FINISHED");
    expect(state.runs).toBe(3);
  });
});
