/**
 * The Data API adapter's wait (lambdas/adapters/redshift-data.ts) against a mocked client, for what only AWS answers:
 * ActiveWaitingRequestsExceededException, the Data API's limit on long polls of one statement at once.
 */
import { ActiveWaitingRequestsExceededException, DescribeStatementCommand, RedshiftDataClient } from "@aws-sdk/client-redshift-data";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { LONG_POLL_SECONDS, RedshiftData } from "#adapters/redshift-data.ts";

const dataApi = mockClient(RedshiftDataClient);
afterEach(() => dataApi.reset());

describe("RedshiftData.wait", () => {
  it("long-polls; refused a long poll (another caller holds one), it asks without waiting until the statement ends", async () => {
    dataApi
      .on(DescribeStatementCommand)
      .rejectsOnce(new ActiveWaitingRequestsExceededException({ message: "too many waiting requests", $metadata: { httpStatusCode: 400 } }))
      .resolvesOnce({ Id: "s1", Status: "STARTED" })
      .resolvesOnce({ Id: "s1", Status: "FINISHED" });
    const redshift = new RedshiftData(new RedshiftDataClient({ region: "us-east-1" }), { workgroup_name: "wg", database: "dev", schema: "public" });
    const state = await redshift.wait("s1", 60_000);
    expect(state.status).toBe("FINISHED");
    const asked = dataApi.commandCalls(DescribeStatementCommand).map((call) => call.args[0].input.WaitTimeSeconds);
    expect(asked).toEqual([LONG_POLL_SECONDS, undefined, undefined]);
  });

  it("asks for no longer than the time left before its deadline", async () => {
    dataApi.on(DescribeStatementCommand).resolves({ Id: "s2", Status: "FINISHED" });
    const redshift = new RedshiftData(
      new RedshiftDataClient({ region: "us-east-1" }),
      { workgroup_name: "wg", database: "dev", schema: "public" },
      Date.now() + 5_500,
    );
    await redshift.wait("s2");
    expect(dataApi.commandCalls(DescribeStatementCommand)[0]?.args[0].input.WaitTimeSeconds).toBe(5);
  });
});
