/**
 * local/stepfunctions/distributed-map.ts: the local runner runs a Distributed Map as the service does — items read from
 * a JSON array in S3 (the local S3 stand-in), each item a child execution with its own history, the ItemSelector with
 * `$$.Map.Item`, MaxConcurrencyPath honoured, results in item order, and a failed child failing the Map with
 * States.ExceedToleratedFailureThreshold (caught like any error).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalStateMachine, type LambdaHandler } from "#local/stepfunctions/runner.ts";
import { startTestS3, TEST_CREDENTIALS, type LocalS3Fixture } from "../../../support/local-s3.ts";

let s3: LocalS3Fixture;
let dir: string;
let definitionFile: string;

const definition = {
  StartAt: "Fan",
  States: {
    Fan: {
      Type: "Map",
      ItemReader: {
        Resource: "arn:aws:states:::s3:getObject",
        ReaderConfig: { InputType: "JSON" },
        Parameters: { "Bucket.$": "$.plan.bucket", "Key.$": "$.plan.key" },
      },
      ItemSelector: { "run.$": "$.run", "range.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index" },
      MaxConcurrencyPath: "$.concurrency",
      ItemProcessor: {
        ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
        StartAt: "Read",
        States: {
          Read: { Type: "Task", Resource: "${ExtractChunkFunctionArn}", Next: "More?" },
          "More?": { Type: "Choice", Choices: [{ Variable: "$.left", NumericGreaterThan: 0, Next: "Read" }], Default: "Read all" },
          "Read all": { Type: "Pass", Parameters: { "index.$": "$.index", "chunks.$": "$.chunks" }, End: true },
        },
      },
      ResultPath: "$.ranges",
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "Failed" }],
      Next: "Done",
    },
    Done: { Type: "Succeed" },
    Failed: { Type: "Pass", End: true },
  },
};

beforeAll(async () => {
  s3 = await startTestS3(["staging"]);
  dir = await mkdtemp(path.join(tmpdir(), "mrsync-dmap-"));
  definitionFile = path.join(dir, "definition.asl.json");
  await writeFile(definitionFile, JSON.stringify(definition));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_REGION: "us-east-1",
  });
  const ranges = Array.from({ length: 5 }, (_, i) => ({ index: i, chunks: i + 1 }));
  await s3.client.send(new PutObjectCommand({ Bucket: "staging", Key: "plans/run-1.json", Body: JSON.stringify(ranges) }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await s3.stop();
});

type ChunkInput = { run: string; index: number; range: { index: number; chunks: number }; left?: number; chunks?: number };

/** A range reader that takes `chunks` calls, noting how many run at once. */
function rangeReader(failIndex?: number) {
  let running = 0;
  const seen = { most: 0, calls: 0 };
  const handler: LambdaHandler = async (event) => {
    const input = event as ChunkInput;
    running++;
    seen.most = Math.max(seen.most, running);
    seen.calls++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
    if (input.index === failIndex) throw Object.assign(new Error(`range ${input.index} cannot be read`), { name: "SourceQueryError" });
    const left = (input.left ?? input.range.chunks) - 1;
    return { ...input, left, chunks: (input.chunks ?? 0) + 1 };
  };
  return { handler, seen };
}

describe("the local runner's Distributed Map", () => {
  it("reads the items from S3 and runs each as a child execution, MaxConcurrency at once, results in item order", async () => {
    const reader = rangeReader();
    const machine = new LocalStateMachine({ handlers: { ExtractChunkFunctionArn: reader.handler }, definitionFile });
    const execution = await machine.startExecution({ run: "run-1", concurrency: 2, plan: { bucket: "staging", key: "plans/run-1.json" } });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    expect((execution.output as { ranges: unknown }).ranges).toEqual([0, 1, 2, 3, 4].map((index) => ({ index, chunks: index + 1 })));
    expect(reader.seen.calls).toBe(15);
    expect(reader.seen.most).toBe(2);
    // Each item is an execution of its own, with its own history (Task 5 + Choice 2 events per chunk, and its start and end).
    expect(execution.children.map((child) => child.name)).toEqual(expect.arrayContaining([0, 1, 2, 3, 4].map((i) => `${execution.name}:Fan:${i}`)));
    for (const child of execution.children) {
      const chunks = Number(child.name.split(":").at(-1)) + 1;
      expect(child.status).toBe("SUCCEEDED");
      expect(child.historyEvents).toBe(chunks * 7 + 2 + 2);
    }
    // The parent's history holds the Map, not its items' states.
    expect(execution.historyEvents).toBeLessThan(15);
  });

  it("fails the Map with States.ExceedToleratedFailureThreshold when a child fails, and starts no child after it", async () => {
    const reader = rangeReader(0);
    const machine = new LocalStateMachine({ handlers: { ExtractChunkFunctionArn: reader.handler }, definitionFile });
    const execution = await machine.startExecution({ run: "run-1", concurrency: 1, plan: { bucket: "staging", key: "plans/run-1.json" } });
    const error = (execution.output as { error: { Error: string; Cause: string } }).error;
    expect(error.Error).toBe("States.ExceedToleratedFailureThreshold");
    expect(error.Cause).toMatch(/1 of 5 child executions failed .*SourceQueryError: .*range 0 cannot be read/);
    expect(execution.children).toHaveLength(1);
  });

  it("fails the Map when the items cannot be read", async () => {
    const machine = new LocalStateMachine({ handlers: { ExtractChunkFunctionArn: rangeReader().handler }, definitionFile });
    const execution = await machine.startExecution({ run: "run-1", concurrency: 1, plan: { bucket: "staging", key: "plans/missing.json" } });
    const error = (execution.output as { error: { Error: string; Cause: string } }).error;
    expect(error.Error).toBe("States.ItemReaderFailed");
    expect(error.Cause).toMatch(/plans\/missing\.json: NoSuchKey/);
  });
});
