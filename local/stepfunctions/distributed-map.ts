/**
 * The Distributed Map, which aws-local-stepfunctions does not run (it would run one as an inline Map, ignoring its
 * ItemReader): the runner turns each `Map` whose ItemProcessor's mode is DISTRIBUTED into a Task it serves itself,
 * with the service's semantics where this product relies on them —
 * - items from the ItemReader (`s3:getObject`, a JSON array, read as the state machine's role: the S3 stand-in refuses
 *   a role without s3:GetObject) or from ItemsPath;
 * - each item run as a child execution of its own (its own history, its own 25,000 events), its input the ItemSelector
 *   evaluated with `$$.Map.Item.Index` / `$$.Map.Item.Value`;
 * - at most MaxConcurrency (or MaxConcurrencyPath) children at once;
 * - a failed child fails the Map with `States.ExceedToleratedFailureThreshold` once more children failed than
 *   ToleratedFailureCount allows (default 0); no new child starts after that, children already running end.
 * - the Map's result is the children's outputs in item order (no ResultWriter).
 * Not modelled: ItemBatcher, ResultWriter, CSV/JSONL/manifest readers, Express children, the Map Run's own events (the
 * Task stands for them in the parent's history).
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { StateMachine } from "aws-local-stepfunctions";
import { s3ClientConfig } from "#adapters/s3.ts";
import { runAs, STATES_IDENTITY } from "../iam/runtime.ts";

export const LOCAL_DISTRIBUTED_MAP_RESOURCE = "arn:aws:states:::local:distributedMap";

export type StateDefinition = Record<string, unknown> & { Type: string };
export type MachineDefinition = { StartAt: string; States: Record<string, StateDefinition> };

type DistributedMap = StateDefinition & {
  ItemProcessor: MachineDefinition & { ProcessorConfig?: { Mode?: string; ExecutionType?: string } };
  ItemReader?: { Resource: string; Parameters?: Record<string, unknown>; ReaderConfig?: { InputType?: string; MaxItems?: number } };
  ItemsPath?: string;
  ItemSelector?: Record<string, unknown>;
  MaxConcurrency?: number;
  MaxConcurrencyPath?: string;
  ToleratedFailureCount?: number;
};

/** The fields a Task keeps from the Map it stands for: how its result is placed, its retries and catches, where next. */
const KEPT = ["Comment", "InputPath", "OutputPath", "ResultPath", "ResultSelector", "Retry", "Catch", "Next", "End"];

const isDistributed = (state: StateDefinition): state is DistributedMap =>
  state.Type === "Map" && (state.ItemProcessor as DistributedMap["ItemProcessor"] | undefined)?.ProcessorConfig?.Mode === "DISTRIBUTED";

/** The definition with each top-level Distributed Map as a runner-served Task; the maps by state name. */
export function withDistributedMapsAsTasks(definition: MachineDefinition): { definition: MachineDefinition; maps: Map<string, DistributedMap> } {
  const maps = new Map<string, DistributedMap>();
  const states: Record<string, StateDefinition> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (!isDistributed(state)) {
      states[name] = state;
      continue;
    }
    maps.set(name, state);
    const task: StateDefinition = { Type: "Task", Resource: `${LOCAL_DISTRIBUTED_MAP_RESOURCE}:${name}` };
    for (const field of KEPT) if (state[field] !== undefined) task[field] = state[field];
    states[name] = task;
  }
  return { definition: { ...definition, States: states }, maps };
}

/** A payload template (Parameters, ItemSelector) evaluated as the service would, by a one-state Pass machine. */
async function evaluate(template: unknown, input: unknown, context: Record<string, unknown>): Promise<unknown> {
  const machine = new StateMachine({ StartAt: "Evaluate", States: { Evaluate: { Type: "Pass", Parameters: template, End: true } } } as never, {
    validationOptions: { checkArn: false },
  });
  return machine.run(input as never, { context }).result;
}

/** A JSONPath of the input (ItemsPath, MaxConcurrencyPath), evaluated likewise. */
const valueAt = (path: string, input: unknown, context: Record<string, unknown>) =>
  evaluate({ "value.$": path }, input, context).then((v) => (v as { value: unknown }).value);

let s3: S3Client | undefined;

async function readItems(map: DistributedMap, input: unknown, context: Record<string, unknown>): Promise<unknown[]> {
  const reader = map.ItemReader;
  if (reader === undefined) {
    const items = map.ItemsPath === undefined ? input : await valueAt(map.ItemsPath, input, context);
    if (!Array.isArray(items)) throw mapFailure("States.Runtime", "the Map's items are not an array");
    return items as unknown[];
  }
  if (reader.Resource !== "arn:aws:states:::s3:getObject" || (reader.ReaderConfig?.InputType ?? "JSON") !== "JSON") {
    throw new Error(
      `the local runner reads Distributed Map items from a JSON object in S3 only, not ${reader.Resource} ${reader.ReaderConfig?.InputType ?? ""}`,
    );
  }
  const { Bucket, Key } = (await evaluate(reader.Parameters ?? {}, input, context)) as { Bucket: string; Key: string };
  // The service reads the items as the state machine's role.
  s3 ??= new S3Client(s3ClientConfig());
  let text: string;
  try {
    const object = await runAs(STATES_IDENTITY, () => s3?.send(new GetObjectCommand({ Bucket, Key })));
    text = (await object?.Body?.transformToString("utf8")) ?? "";
  } catch (error) {
    const name = error instanceof Error ? error.name : "Error";
    throw mapFailure(`States.ItemReaderFailed`, `s3://${Bucket}/${Key}: ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) throw mapFailure("States.ItemReaderFailed", `s3://${Bucket}/${Key} does not hold a JSON array`);
  const items = parsed as unknown[];
  return reader.ReaderConfig?.MaxItems === undefined ? items : items.slice(0, reader.ReaderConfig.MaxItems);
}

function mapFailure(name: string, cause: string): Error {
  const failure = new Error(cause);
  failure.name = name;
  return failure;
}

/** A child execution's end, as the runner records it. */
export type ChildRun = { status: "SUCCEEDED" | "FAILED"; output: unknown; error: string | undefined; cause: string | undefined };

/**
 * Runs the Map: every item through `runChild` (a child execution of the ItemProcessor), at most MaxConcurrency at
 * once, results in item order.
 */
export async function runDistributedMap(
  map: DistributedMap,
  input: unknown,
  context: Record<string, unknown>,
  runChild: (processor: MachineDefinition, input: unknown, index: number) => Promise<ChildRun>,
): Promise<unknown[]> {
  const items = await readItems(map, input, context);
  const concurrency = Number(map.MaxConcurrencyPath === undefined ? (map.MaxConcurrency ?? 0) : await valueAt(map.MaxConcurrencyPath, input, context));
  // The children run the processor's states; its ProcessorConfig is the Map's, not a state machine field.
  const processor: MachineDefinition = { StartAt: map.ItemProcessor.StartAt, States: map.ItemProcessor.States };
  const tolerated = map.ToleratedFailureCount ?? 0;
  const results: unknown[] = new Array(items.length);
  const failures: ChildRun[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length && failures.length <= tolerated) {
      const index = next++;
      const item = items[index];
      const itemContext = { ...context, Map: { Item: { Index: index, Value: item } } };
      const childInput = map.ItemSelector === undefined ? item : await evaluate(map.ItemSelector, input, itemContext);
      const child = await runChild(processor, childInput, index);
      if (child.status === "SUCCEEDED") results[index] = child.output;
      else failures.push(child);
    }
  };
  // 0 (or none) is "as many as the service allows" (10,000): every item at once.
  const workers = concurrency > 0 ? Math.min(concurrency, items.length) : items.length;
  await Promise.all(Array.from({ length: workers }, worker));
  if (failures.length > tolerated) {
    const first = failures[0];
    throw mapFailure(
      "States.ExceedToleratedFailureThreshold",
      `${failures.length} of ${items.length} child executions failed (tolerated: ${tolerated}); the first: ${first?.error ?? "?"}: ${first?.cause ?? ""}`,
    );
  }
  return results;
}
