/** MySQL errors the state machine retries (by name) versus the ones it must not retry. */
import { describe, expect, it } from "vitest";
import { classifySourceError, connectSource, SourceUnavailableError } from "#adapters/mysql.ts";

const source = { host: "127.0.0.1", port: 1, database: "test", ssl: false, connect_timeout_ms: 2_000 };

describe("source errors", () => {
  it("reports an unreachable MySQL as SourceUnavailableError, naming the host", async () => {
    const failure = connectSource(source, { username: "root", password: "" });
    await expect(failure).rejects.toBeInstanceOf(SourceUnavailableError);
    await expect(failure).rejects.toThrow(/MySQL at 127\.0\.0\.1: ECONNREFUSED/);
  });

  it("leaves SQL and access errors as they are", () => {
    const sqlError = Object.assign(new Error("Unknown column 'x'"), { code: "ER_BAD_FIELD_ERROR" });
    expect(classifySourceError(sqlError, "h")).toBe(sqlError);
    const lost = Object.assign(new Error("Connection lost"), { code: "PROTOCOL_CONNECTION_LOST" });
    expect(classifySourceError(lost, "h")).toBeInstanceOf(SourceUnavailableError);
    // A write refused by the read-only session is a bug to see, not a fault to retry.
    const readOnly = Object.assign(new Error("Cannot execute statement in a READ ONLY transaction"), {
      code: "ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION",
      errno: 1792,
    });
    expect(classifySourceError(readOnly, "h")).toBe(readOnly);
  });

  it("classifies the interruptions of a failover or a KILL by code or by server error number", () => {
    for (const [code, errno] of [
      ["ER_QUERY_INTERRUPTED", 1317],
      ["ER_LOCK_WAIT_TIMEOUT", 1205],
      ["ER_LOCK_DEADLOCK", 1213],
      [undefined, 1927],
      [undefined, 2013],
      ["ER_OPTION_PREVENTS_STATEMENT", 1290],
    ] as const) {
      const error = Object.assign(new Error("interrupted"), { code, errno });
      expect(classifySourceError(error, "h"), `${String(code)} ${errno}`).toBeInstanceOf(SourceUnavailableError);
    }
  });
});
