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
  });
});
