/**
 * The sync state machine, written once here and rendered to statemachines/sync-pipeline.asl.json (`npm run asl`;
 * a golden-file test keeps the two equal). JSONPath ASL with `${…}` definition substitutions for the function
 * ARNs: the CDK deploys the JSON file, the local runner executes the same file.
 *
 *   Plan ─► Tables (Map) ─► Summarize ─► Done | SyncFailed
 *   per table: Begin ─► ExtractChunk ⟲ ─► SubmitLoad ─► AwaitLoad ⟲ ─► CompleteLoad ⟲ ─► Finish
 *              any error ─► FailTable;  over the history budget ─► ContinueInChild (same machine, same run)
 */
import { RANGE_CHUNK_BUDGET } from "#domain/run-plan.ts";
import { LAMBDA_SERVICE_ERRORS, START_CHILD_ERRORS } from "./retry-policies.ts";
import { LAMBDA_STEPS, STEPS, substitutionName, type LambdaStep } from "./steps.ts";

export { LAMBDA_STEPS, substitutionName, type LambdaStep };

/** The stack's partition (aws, aws-cn, aws-us-gov): the service integrations' ARNs name it; never written as `aws`. */
export const PARTITION_SUBSTITUTION = "Partition";
export const SUBSTITUTIONS = [...LAMBDA_STEPS.map(substitutionName), PARTITION_SUBSTITUTION];
/** A Step Functions service integration's resource ARN, in the stack's partition. */
const integration = (api: string) => `arn:\${${PARTITION_SUBSTITUTION}}:states:::${api}`;

const tableInput = { "run.$": "$.run", "table.$": "$.table" };
const withProgress = { ...tableInput, "progress.$": "$.progress" };
const failTable = { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "FailTable" };

/** A Lambda step's Task: its function, timeout and retries as the step registry (steps.ts) has them. */
function lambdaTask(step: LambdaStep, parameters: Record<string, unknown>, rest: Record<string, unknown>) {
  return {
    Type: "Task",
    Resource: `\${${substitutionName(step)}}`,
    Parameters: parameters,
    TimeoutSeconds: STEPS[step].timeoutSeconds,
    Retry: [LAMBDA_SERVICE_ERRORS, ...STEPS[step].retries],
    ...rest,
  };
}

const tableStates = {
  Begin: lambdaTask("Begin", { ...tableInput, "resume.$": "$.resume" }, { ResultPath: "$.progress", Catch: [failTable], Next: "LoadInFlight?" }),
  // A child continuing its parent's load polls that statement: a new submission would read the table's ledger behind
  // the running load's lock, and wait for it. (Written as IsNull true: the local interpreter reads IsNull false wrong.)
  "LoadInFlight?": {
    Type: "Choice",
    Choices: [{ Variable: "$.load", IsNull: true, Next: "Extracted?" }],
    Default: "AwaitLoad",
  },
  "Extracted?": {
    Type: "Choice",
    Choices: [
      { Variable: "$.progress.done", BooleanEquals: true, Next: "LoadOrFinish?" },
      // A window read as key ranges: its ranges left are read by RangeReaders (a child execution), then ExtractChunk
      // closes the window (or finds ranges left, whose readers spent their history budget: ReadRanges again).
      {
        And: [
          { Variable: "$.progress.ranges", IsPresent: true },
          { Variable: "$.progress.ranges.left", NumericGreaterThan: 0 },
        ],
        Next: "ReadRanges",
      },
      { Variable: "$.progress.chunksHere", NumericGreaterThanEqualsPath: "$.run.chunkBudget", Next: "ContinueInChild" },
    ],
    Default: "ExtractChunk",
  },
  ExtractChunk: lambdaTask("ExtractChunk", withProgress, { ResultPath: "$.progress", Catch: [failTable], Next: "Extracted?" }),
  "LoadOrFinish?": {
    Type: "Choice",
    Choices: [{ Variable: "$.run.mode", StringEquals: "backup_only", Next: "Finish" }],
    Default: "SubmitLoad",
  },
  SubmitLoad: lambdaTask("SubmitLoad", withProgress, { ResultPath: "$.load", Catch: [failTable], Next: "Submitted?" }),
  "Submitted?": {
    Type: "Choice",
    Choices: [
      { Variable: "$.load.files", NumericEquals: 0, Next: "Finish" },
      { Variable: "$.load.statementId", IsNull: true, Next: "CompleteLoad" },
    ],
    Default: "AwaitLoad",
  },
  // No Wait state: AwaitLoad long-polls the statement (the Data API answers when it ends), so a 2 s load is seen
  // ended at 2 s; Step Functions' own describeStatement integration may not pass WaitTimeSeconds (docs/decisions.md).
  // Answers with the load, its status and meter added (ResultPath $.load: a child continuing it gets both).
  AwaitLoad: lambdaTask("AwaitLoad", { ...tableInput, "load.$": "$.load" }, { ResultPath: "$.load", Catch: [failTable], Next: "LoadEnded?" }),
  "LoadEnded?": {
    Type: "Choice",
    Choices: [
      {
        Or: ["FINISHED", "FAILED", "ABORTED"].map((status) => ({ Variable: "$.load.status", StringEquals: status })),
        Next: "CompleteLoad",
      },
      { Variable: "$.polls.count", NumericGreaterThanEqualsPath: "$.run.pollBudget", Next: "ContinueInChild" },
    ],
    Default: "CountPoll",
  },
  CountPoll: { Type: "Pass", Parameters: { "count.$": "States.MathAdd($.polls.count, 1)" }, ResultPath: "$.polls", Next: "AwaitLoad" },
  CompleteLoad: lambdaTask("CompleteLoad", { ...withProgress, "load.$": "$.load" }, { ResultPath: "$.progress", Catch: [failTable], Next: "MoreToLoad?" }),
  "MoreToLoad?": {
    Type: "Choice",
    Choices: [{ Variable: "$.progress.pendingFiles", NumericGreaterThan: 0, Next: "SubmitLoad" }],
    Default: "Finish",
  },
  Finish: lambdaTask("Finish", { ...withProgress, "load.$": "$.load" }, { ResultPath: "$.result", OutputPath: "$.result", Catch: [failTable], End: true }),
  ContinueInChild: {
    Type: "Task",
    Comment: "The table continues in a child execution of this state machine (same run id and lease): keeps every history under 25,000 events",
    Resource: integration("states:startExecution.sync:2"),
    Parameters: {
      "StateMachineArn.$": "$$.StateMachine.Id",
      Input: {
        "pipeline.$": "$.run.pipeline",
        "tables.$": "States.Array($.table)",
        "mode.$": "$.run.mode",
        "limit.$": "$.run.limit",
        "completion_bucket.$": "$.run.completionBucket",
        resume: { "executionId.$": "$.run.executionId", "startedAt.$": "$.run.startedAt", "progress.$": "$.progress", "load.$": "$.load" },
        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
      },
    },
    // startExecution.sync:2 returns the child's Output as JSON (.sync would return a string).
    ResultSelector: { "summary.$": "$.Output" },
    ResultPath: "$.child",
    Retry: [START_CHILD_ERRORS],
    Catch: [failTable],
    Next: "ChildResult",
  },
  ChildResult: { Type: "Pass", InputPath: "$.child.summary.results[0]", End: true },
  ReadRanges: {
    Type: "Task",
    Comment: "The window's key ranges left, read at once by a child execution of this state machine (its RangeReaders: a Distributed Map)",
    Resource: integration("states:startExecution.sync:2"),
    Parameters: {
      "StateMachineArn.$": "$$.StateMachine.Id",
      Input: {
        ranges: { "run.$": "$.run", "table.$": "$.table", "progress.$": "$.progress", chunkBudget: RANGE_CHUNK_BUDGET },
        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
      },
    },
    ResultPath: null,
    Retry: [START_CHILD_ERRORS],
    Catch: [failTable],
    Next: "ExtractChunk",
  },
  FailTable: lambdaTask(
    "FailTable",
    { ...withProgress, "resume.$": "$.resume", "error.$": "$.error" },
    { ResultPath: "$.result", OutputPath: "$.result", End: true },
  ),
};

/** One range's reader: its chunks until the range is read or its own history budget is spent. */
const rangeStates = {
  ExtractRange: lambdaTask(
    "ExtractChunk",
    { "run.$": "$.run", "table.$": "$.table", "progress.$": "$.progress", "range.$": "$.range" },
    { ResultPath: "$.progress", Next: "RangeRead?" },
  ),
  "RangeRead?": {
    Type: "Choice",
    Choices: [
      { Variable: "$.progress.rangeDone", BooleanEquals: true, Next: "RangeEnd" },
      { Variable: "$.progress.chunksHere", NumericGreaterThanEqualsPath: "$.chunkBudget", Next: "RangeEnd" },
    ],
    Default: "ExtractRange",
  },
  // A small output: the Map collects every reader's (the table reads the ranges' state from its watermark).
  RangeEnd: { Type: "Pass", Parameters: { "range.$": "$.range", "read.$": "$.progress.rangeDone" }, End: true },
};

export function syncPipelineDefinition() {
  return {
    Comment: "mysql-redshift-sync: MySQL -> S3 (Parquet) -> Redshift for one pipeline's tables (input: docs/design.md section 9)",
    StartAt: "Entry?",
    States: {
      // A table's ReadRanges starts this state machine with `ranges`: its key ranges, read by RangeReaders.
      "Entry?": {
        Type: "Choice",
        Choices: [{ Variable: "$.ranges", IsPresent: true, Next: "RangeReaders" }],
        Default: "Plan",
      },
      RangeReaders: {
        Type: "Map",
        Comment: "A table's key ranges, a child execution each (docs/design.md section 14); items: the range plan Begin wrote",
        ItemReader: {
          Resource: integration("s3:getObject"),
          ReaderConfig: { InputType: "JSON" },
          Parameters: { "Bucket.$": "$.ranges.progress.ranges.plan.bucket", "Key.$": "$.ranges.progress.ranges.plan.key" },
        },
        MaxConcurrencyPath: "$.ranges.progress.ranges.concurrency",
        ItemSelector: {
          "run.$": "$.ranges.run",
          "table.$": "$.ranges.table",
          "progress.$": "$.ranges.progress",
          "chunkBudget.$": "$.ranges.chunkBudget",
          "range.$": "$$.Map.Item.Value.index",
        },
        ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, StartAt: "ExtractRange", States: rangeStates },
        ResultPath: null,
        Next: "RangesRead",
      },
      RangesRead: { Type: "Succeed" },
      Plan: lambdaTask(
        "Plan",
        // The context object, not "$": an execution started with `null` input has no "$" to select, and Plan must
        // still answer with InvalidInputError rather than the state machine with States.Runtime.
        { "execution.$": "$$.Execution" },
        { Next: "Tables" },
      ),
      Tables: {
        Type: "Map",
        ItemsPath: "$.tables",
        MaxConcurrencyPath: "$.run.maxParallelTables",
        ItemSelector: {
          "run.$": "$.run",
          "table.$": "$$.Map.Item.Value.table",
          "resume.$": "$$.Map.Item.Value.resume",
          progress: null,
          // A load a parent left polling (only a child's one table has one).
          "load.$": "$$.Map.Item.Value.load",
          polls: { count: 0 },
        },
        ItemProcessor: { ProcessorConfig: { Mode: "INLINE" }, StartAt: "Begin", States: tableStates },
        ResultPath: "$.results",
        Next: "Summarize",
      },
      // The summary replaces the state (the Map's results are in it): the payload stays well under 256 KiB.
      Summarize: lambdaTask("Summarize", { "run.$": "$.run", "results.$": "$.results" }, { Next: "Failed?" }),
      "Failed?": {
        Type: "Choice",
        Choices: [{ Variable: "$.failed", BooleanEquals: true, Next: "SyncFailed" }],
        Default: "Done",
      },
      Done: { Type: "Succeed", OutputPath: "$.summary" },
      SyncFailed: { Type: "Fail", Error: "SyncFailed", CausePath: "$.cause" },
    },
  };
}

/** The ASL file's text: stable key order and a trailing newline, so the golden file diffs cleanly. */
export const renderDefinition = () => `${JSON.stringify(syncPipelineDefinition(), null, 2)}\n`;
