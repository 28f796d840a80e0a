/**
 * Every Redshift wait is bounded by the calling function's deadline: a statement still running then ends the wait
 * with RedshiftTimeoutError (retried by the state machine) and is cancelled, instead of the function being killed at
 * its timeout mid-wait. Against the local Data API on PostgreSQL.
 */
import { DescribeStatementCommand } from "@aws-sdk/client-redshift-data";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedshiftData, RedshiftTimeoutError } from "#adapters/redshift-data.ts";
import { startTestS3, type LocalS3Fixture } from "../../../support/local-s3.ts";
import { useWarehouseFixture } from "../../../support/warehouse.ts";

let s3: LocalS3Fixture;
beforeAll(async () => {
  s3 = await startTestS3(["deadline"]);
});
afterAll(async () => {
  await s3.stop();
});
const warehouse = useWarehouseFixture("mrsync_test_deadline", () => s3.store);

describe("a Redshift wait", () => {
  it("ends at the function's deadline with RedshiftTimeoutError, and cancels the statement it waited for", async () => {
    const bounded = new RedshiftData(warehouse.client, { workgroup_name: "local", database: "mrsync_test_deadline", schema: "public" }, Date.now() + 400);
    const started = Date.now();
    const failure = await bounded.query("SELECT pg_sleep(5)").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RedshiftTimeoutError);
    expect((failure as Error).message).toMatch(
      /still (SUBMITTED|PICKED|STARTED) when the wait had to end \(the function's deadline\); retried by the state machine/,
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    const id = /statement (\S+) still/.exec((failure as Error).message)?.[1] ?? "";
    const state = await warehouse.client.send(new DescribeStatementCommand({ Id: id }));
    expect(state.Status).toBe("ABORTED");
  });
});
