/**
 * Step Functions fails an execution whose state output passes 256 KiB with States.DataLimitExceeded, which no Catch
 * catches: the run would end with no summary. The local runner fails such a state as AWS does, and what each table
 * returns to the Map stays small whatever its error (the whole text goes to the table's watermark). Real Plan,
 * FailTable and Summarize on the real ASL; Begin fails every table with a long error.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import { LocalStateMachine, MAX_PAYLOAD_BYTES, realHandlers, type LambdaHandler } from "#local/stepfunctions/runner.ts";
import { failedLine } from "../support/table-results.ts";
import { startTestS3, TEST_CREDENTIALS, type LocalS3Fixture } from "../support/local-s3.ts";

const TABLES = Array.from({ length: 40 }, (_, i) => `settlement.ledger_${String(i).padStart(2, "0")}`);
const LONG_ERROR = `the source refused the query: ${"a very long server message ".repeat(4_000)}`;

let s3: LocalS3Fixture;
let configDir: string;
let handlers: Record<string, LambdaHandler>;

beforeAll(async () => {
  s3 = await startTestS3(["staging"]);
  configDir = await mkdtemp(path.join(tmpdir(), "mrsync-payload-"));
  await mkdir(path.join(configDir, "pipelines"));
  await writeFile(
    path.join(configDir, "connections.yml"),
    `sources:
  db: { host: 127.0.0.1, port: 3306, database: settlement, username: root, password: "" }
targets:
  dw: { workgroup_name: local, database: dev, schema: public }
staging:
  main: { bucket: staging, prefix: incremental/ }
`,
  );
  await writeFile(
    path.join(configDir, "pipelines", "wide.yml"),
    `pipeline: { name: wide, source: db, target: dw, staging: main, processing: { max_parallel_tables: 8 } }
tables:
${TABLES.map((t) => `  ${t}: { cdc_strategy: id_only }`).join("\n")}
`,
  );
  Object.assign(process.env, {
    MRSYNC_CONFIG_DIR: configDir,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_REGION: "us-east-1",
  });
  handlers = await realHandlers();
});

afterAll(async () => {
  await rm(configDir, { recursive: true, force: true });
  await s3.stop();
});

const failingBegin: LambdaHandler = () => Promise.reject(Object.assign(new Error(LONG_ERROR), { name: "SourceQueryError" }));

describe("payloads within Step Functions' 256 KiB", () => {
  it("40 tables failing with 100 KB errors end in a summary naming each, every state under the limit", async () => {
    let largest = 0;
    const machine = new LocalStateMachine({ handlers: { ...handlers, BeginFunctionArn: failingBegin } });
    const execution = await machine.startExecution({ pipeline: "wide" });
    expect(execution.error, execution.cause?.slice(0, 300)).toBe("SyncFailed");
    const [head = "", json = "{}"] = (execution.cause ?? "").split("\n");
    expect(head).toMatch(/^40 of 40 table\(s\) failed/);
    const summary = JSON.parse(json) as RunSummary;
    expect(Object.keys(summary.table_results)).toEqual(TABLES);
    for (const line of Object.values(summary.table_results)) {
      expect(line.error_type).toBe("SourceQueryError");
      expect(line.error_message).toMatch(/^the source refused the query: a very long server message/);
      expect(line.error_message).toMatch(/the whole error: mrsync watermark get\)$/);
      expect(line.error_message?.length).toBeGreaterThanOrEqual(80);
      largest = Math.max(largest, line.error_message?.length ?? 0);
    }
    expect(largest).toBeLessThanOrEqual(2_000);
  });

  it("the local runner fails a state whose output passes 256 KiB as AWS does (States.DataLimitExceeded, not caught)", async () => {
    // A FailTable that returns its whole error, as it did before its lines were bounded.
    const unbounded: LambdaHandler = (event) => {
      const { table } = event as { table: string };
      return Promise.resolve(failedLine(table, "SourceQueryError", LONG_ERROR));
    };
    const machine = new LocalStateMachine({ handlers: { ...handlers, BeginFunctionArn: failingBegin, FailTableFunctionArn: unbounded } });
    const execution = await machine.startExecution({ pipeline: "wide" });
    expect(execution.status).toBe("FAILED");
    expect(execution.error).toBe("States.DataLimitExceeded");
    expect(execution.cause).toMatch(/The state\/task '.*' returned a result with a size exceeding the maximum number of bytes service limit/);
    expect(MAX_PAYLOAD_BYTES).toBe(262_144);
  });
});
