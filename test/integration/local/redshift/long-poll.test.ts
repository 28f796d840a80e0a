/**
 * The Data API's long poll, as AWS documents it ("Reduce API calls with long polling"): DescribeStatement,
 * GetStatementResult, ExecuteStatement and BatchExecuteStatement take WaitTimeSeconds (1 to 30) and answer when the
 * statement ends or the time is up, whichever is first. The local Data API does the same, and the adapter's wait
 * rests on it instead of polling.
 */
import { DescribeStatementCommand, ExecuteStatementCommand } from "@aws-sdk/client-redshift-data";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useWarehouseFixture } from "../../../support/warehouse.ts";
import { startTestS3, type LocalS3Fixture } from "../../../support/local-s3.ts";

const DATABASE = "mrsync_test_long_poll";
let s3: LocalS3Fixture;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => s3.stop());
const warehouse = useWarehouseFixture(DATABASE, () => s3.store);

/** Statements whose SQL says `hold <ms>` are held that long before they run (a long COPY, here). */
const holdStatements = () => {
  warehouse.server.setStatementHook(async (_session, statement) => {
    const hold = /hold (\d+)/.exec(statement.sql);
    if (hold !== null) await new Promise((resolve) => setTimeout(resolve, Number(hold[1])));
    return undefined;
  });
};

describe("the Data API's long poll (WaitTimeSeconds)", () => {
  it("answers DescribeStatement when the statement ends, not before, within WaitTimeSeconds", async () => {
    holdStatements();
    const { Id } = await warehouse.client.send(new ExecuteStatementCommand({ WorkgroupName: "local", Database: DATABASE, Sql: "SELECT 1 /* hold 1500 */" }));
    const described = await warehouse.client.send(new DescribeStatementCommand({ Id, WaitTimeSeconds: 10 }));
    expect(described.Status).toBe("FINISHED");
  });

  it("answers with the running status when WaitTimeSeconds passes first", async () => {
    holdStatements();
    const { Id } = await warehouse.client.send(new ExecuteStatementCommand({ WorkgroupName: "local", Database: DATABASE, Sql: "SELECT 1 /* hold 4000 */" }));
    const described = await warehouse.client.send(new DescribeStatementCommand({ Id, WaitTimeSeconds: 1 }));
    expect(["SUBMITTED", "STARTED"]).toContain(described.Status);
    expect((await warehouse.client.send(new DescribeStatementCommand({ Id, WaitTimeSeconds: 10 }))).Status).toBe("FINISHED");
  });

  it("ExecuteStatement with WaitTimeSeconds answers with the status; values outside 1–30 are refused", async () => {
    const executed = await warehouse.client.send(
      new ExecuteStatementCommand({ WorkgroupName: "local", Database: DATABASE, Sql: "SELECT 2", WaitTimeSeconds: 5 }),
    );
    expect(executed).toMatchObject({ Status: "FINISHED", HasResultSet: true });
    await expect(warehouse.client.send(new DescribeStatementCommand({ Id: executed.Id, WaitTimeSeconds: 31 }))).rejects.toThrow(/less than or equal to 30/);
    await expect(warehouse.client.send(new DescribeStatementCommand({ Id: executed.Id, WaitTimeSeconds: 0 }))).rejects.toThrow(/greater than or equal to 1/);
  });

  it("the adapter's wait asks once for a statement that ends within the long poll", async () => {
    holdStatements();
    const id = await warehouse.redshift.submit("SELECT 3 /* hold 1500 */");
    let calls = 0;
    const send = warehouse.client.send.bind(warehouse.client);
    warehouse.client.send = ((command: { constructor: { name: string } }) => {
      if (command.constructor.name === "DescribeStatementCommand") calls++;
      return send(command as never);
    }) as typeof warehouse.client.send;
    try {
      expect((await warehouse.redshift.wait(id)).status).toBe("FINISHED");
    } finally {
      warehouse.client.send = send;
      warehouse.server.setStatementHook(undefined);
    }
    expect(calls).toBe(1);
  });
});
