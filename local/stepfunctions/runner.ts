/**
 * Runs statemachines/sync-pipeline.asl.json — the deployed file, unchanged — with aws-local-stepfunctions: each
 * Lambda task calls its handler in this process (input and output through JSON, errors shaped as Lambda reports
 * them) and `startExecution.sync:2` runs a child execution here. No wait is shortened: the definition has no Wait
 * state (AwaitLoad long-polls the Data API), only retry intervals are. The interpreter does not enforce the 25,000-event
 * history limit, so every execution's history is counted as Step Functions would count it.
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { StateMachine } from "aws-local-stepfunctions";
import type { Context } from "aws-lambda";
import { PARTITION_SUBSTITUTION } from "../../statemachines/sync-pipeline.ts";
import { LAMBDA_STEPS, STEPS, substitutionName } from "../../statemachines/steps.ts";
import type { StackAuthorizer } from "../iam/authorizer.ts";
import { LOCAL_STATE_MACHINE_ARN, localFunctionArn, localFunctionName } from "../endpoints.ts";
import { LOCAL_WAREHOUSE_ROLE_ARN } from "../redshift/identities.ts";
import { functionIdentity, runAs } from "../iam/runtime.ts";
import { LOCAL_DISTRIBUTED_MAP_RESOURCE, runDistributedMap, withDistributedMapsAsTasks, type MachineDefinition } from "./distributed-map.ts";

/** The role the functions submit as here unless MRSYNC_WAREHOUSE_ROLE_ARN names another (the CLI loads the runner only). */
export { LOCAL_WAREHOUSE_ROLE_ARN };

export const DEFINITION_FILE = path.join(import.meta.dirname, "..", "..", "statemachines", "sync-pipeline.asl.json");
export { LOCAL_STATE_MACHINE_ARN };
const functionArn = (module: string) => localFunctionArn(localFunctionName(module));
/** A Lambda handler as the runtime calls it. */
export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** Which handler module serves each `${<Step>FunctionArn}` substitution (the step registry: statemachines/steps.ts). */
export const HANDLER_MODULES: Record<string, string> = Object.fromEntries(LAMBDA_STEPS.map((step) => [substitutionName(step), STEPS[step].handler]));
/** Each handler's Lambda timeout, as deployed (its deadline). */
const TIMEOUT_MS: Record<string, number> = Object.fromEntries(LAMBDA_STEPS.map((step) => [substitutionName(step), STEPS[step].timeoutSeconds * 1000]));

/** Each handler's memory, as deployed (what the context reports; the cost estimate's GB-seconds use it). */
const MEMORY_MB: Record<string, number> = Object.fromEntries(LAMBDA_STEPS.map((step) => [substitutionName(step), STEPS[step].memoryMb]));

/** The real handlers (lambdas/handlers/*), imported on first use. */
export async function realHandlers(): Promise<Record<string, LambdaHandler>> {
  const entries = await Promise.all(
    Object.entries(HANDLER_MODULES).map(async ([substitution, module]) => {
      const imported = (await import(path.join(import.meta.dirname, "..", "..", "lambdas", "handlers", `${module}.ts`))) as { handler: LambdaHandler };
      return [substitution, imported.handler] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** Told of each Lambda step as it returns (progress displays). */
export type StepObserver = (step: string, input: unknown, output: unknown) => void;

export type LocalRunnerOptions = {
  /** Handler per substitution name (e.g. BeginFunctionArn); realHandlers() for the real thing. */
  handlers: Record<string, LambdaHandler>;
  /** Milliseconds between retry attempts (the definition's intervals are seconds to minutes). */
  retryDelayMs?: number;
  /** The Lambda timeout the handlers see (their deadline). */
  functionTimeoutMs?: number;
  definitionFile?: string;
  /** Called after each Lambda step returns (progress displays). */
  onStep?: StepObserver;
  /** Called with each execution as it ends (children included). */
  onExecution?: (execution: ExecutionRecord) => void;
  /**
   * The stack's IAM (local/iam): the state machine's own calls — invoking the functions, starting child executions —
   * are allowed or refused by its role's policy, as on AWS. Each call the handlers make is tagged with their
   * function's identity either way (iam/runtime.ts), for the stand-ins to judge.
   */
  iam?: StackAuthorizer;
};

export type ExecutionRecord = {
  name: string;
  arn: string;
  status: "SUCCEEDED" | "FAILED";
  output: unknown;
  error: string | undefined;
  cause: string | undefined;
  /** Step Functions history events this execution would have recorded. */
  historyEvents: number;
  /** States entered (retries included): the state transitions Step Functions would bill this execution. */
  stateTransitions: number;
  children: ExecutionRecord[];
};

/** The interpreter's event log entries (its type is not exported): what the history count and the payload check need. */
export type EventLog = { type: string; state?: { type: string; name?: string; output?: unknown } };

/** Step Functions' limit on a state's input or output (256 KiB). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

type State = {
  Type: string;
  Resource?: string;
  ItemProcessor?: { States: Record<string, State> };
  Iterator?: { States: Record<string, State> };
};

function* taskStates(states: Record<string, State>): Generator<[string, State]> {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === "Task") yield [name, state];
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner !== undefined) yield* taskStates(inner.States);
  }
}

/** Step Functions' history for the interpreter's events: tasks add scheduled/started/ended per attempt, maps add their start and end. */
export function historyEventCount(events: readonly EventLog[]): number {
  let count = 0;
  for (const event of events) {
    switch (event.type) {
      case "StateRetried":
        count += 3;
        break;
      case "StateCaught":
      case "StateFailed":
        break;
      case "StateEntered":
        count += 1 + (event.state?.type === "Task" ? 3 : event.state?.type === "Map" ? 2 : 0);
        break;
      default:
        count += 1;
    }
  }
  return count;
}

/** An error as Step Functions reports a failed Lambda: Error = the error's name, Cause = Lambda's JSON. */
function lambdaFailure(error: unknown): Error {
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  const failure = new Error(JSON.stringify({ errorType: name, errorMessage: message, trace: [] }));
  failure.name = name;
  return failure;
}

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null)) as unknown;

export class LocalStateMachine {
  private readonly options: LocalRunnerOptions;
  private definitionText: string | undefined;

  constructor(options: LocalRunnerOptions) {
    this.options = options;
  }

  private async definition(): Promise<MachineDefinition> {
    this.definitionText ??= await readFile(this.options.definitionFile ?? DEFINITION_FILE, "utf8");
    const substituted = this.definitionText.replace(/\$\{([A-Za-z]+)\}/g, (whole, name: string) => {
      if (name === PARTITION_SUBSTITUTION) return "aws";
      const module = HANDLER_MODULES[name];
      if (module === undefined) throw new Error(`the definition names substitution ${whole}, which the local runner does not know`);
      return functionArn(module);
    });
    return JSON.parse(substituted) as MachineDefinition;
  }

  private invoke(substitution: string, stateName: string) {
    const handler = this.options.handlers[substitution];
    if (handler === undefined) throw new Error(`no local handler for ${substitution} (task ${stateName})`);
    const timeoutMs = this.options.functionTimeoutMs ?? TIMEOUT_MS[substitution] ?? 900_000;
    return async (input: unknown) => {
      const deadline = Date.now() + timeoutMs;
      const module = HANDLER_MODULES[substitution] ?? substitution;
      const context = {
        functionName: `mrsync-${module}`,
        functionVersion: "$LATEST",
        invokedFunctionArn: functionArn(module),
        memoryLimitInMB: String(MEMORY_MB[substitution] ?? 1024),
        awsRequestId: randomUUID(),
        logGroupName: `/aws/lambda/mrsync-${module}`,
        logStreamName: "local",
        callbackWaitsForEmptyEventLoop: false,
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      } as Context;
      // Step Functions invokes the function as the state machine's role: refused as Lambda refuses it.
      await this.authorizeAsStateMachine("lambda:InvokeFunction", functionArn(module));
      let output: unknown;
      try {
        output = json(await runAs(functionIdentity(module), () => handler(json(input), context)));
      } catch (error) {
        throw lambdaFailure(error);
      }
      this.options.onStep?.(substitution.replace(/FunctionArn$/, ""), input, output);
      return output;
    };
  }

  /** Refuses, as the service would, a call the state machine's role may not make (States.TaskFailed-shaped error). */
  private async authorizeAsStateMachine(action: string, resource: string): Promise<void> {
    const iam = this.options.iam;
    if (iam === undefined) return;
    try {
      await iam.authorize({ caller: iam.stateMachineCaller(), action, resource });
    } catch (error) {
      const failure = new Error(error instanceof Error ? error.message : String(error));
      failure.name = action.startsWith("lambda:") ? "Lambda.AccessDeniedException" : "States.TaskFailed";
      throw failure;
    }
  }

  /**
   * A child execution, run to its end. Its Output comes back as Step Functions gives it: a JSON value with
   * `startExecution.sync:2`, a string (to parse with States.StringToJson) with `startExecution.sync`.
   */
  private async startChild(input: unknown, children: ExecutionRecord[], output: "json" | "string"): Promise<unknown> {
    await this.authorizeAsStateMachine("states:StartExecution", LOCAL_STATE_MACHINE_ARN);
    const child = await this.startExecution((input as { Input: unknown }).Input);
    children.push(child);
    if (child.status === "SUCCEEDED") {
      return { ExecutionArn: child.arn, Status: "SUCCEEDED", Output: output === "json" ? child.output : JSON.stringify(child.output) };
    }
    const failure = new Error(JSON.stringify({ ExecutionArn: child.arn, Status: "FAILED", Error: child.error, Cause: child.cause }));
    failure.name = "States.TaskFailed";
    throw failure;
  }

  /** Runs one execution to its end (children run inside it, as with `.sync`). */
  async startExecution(input: unknown, name = `local-${new Date().toISOString().replace(/[-:.]/g, "")}-${randomUUID().slice(0, 8)}`): Promise<ExecutionRecord> {
    const arn = `${LOCAL_STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:")}:${name}`;
    return this.run(await this.definition(), input, name, arn);
  }

  /** One execution of `machine` (the state machine, or a Distributed Map's ItemProcessor for one item). */
  private async run(machine: MachineDefinition, input: unknown, name: string, arn: string): Promise<ExecutionRecord> {
    const { definition, maps } = withDistributedMapsAsTasks(machine);
    const children: ExecutionRecord[] = [];
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const context = { Execution: { Id: arn, Name: name }, StateMachine: { Id: LOCAL_STATE_MACHINE_ARN, Name: "mrsync-sync-pipeline" } };
    for (const [stateName, state] of taskStates(definition.States)) {
      const resource = state.Resource ?? "";
      const substitution = Object.entries(HANDLER_MODULES).find(([, module]) => resource === functionArn(module))?.[0];
      const map = maps.get(stateName);
      if (substitution !== undefined) handlers[stateName] = this.invoke(substitution, stateName);
      else if (resource === "arn:aws:states:::states:startExecution.sync:2") handlers[stateName] = (i) => this.startChild(i, children, "json");
      else if (resource === "arn:aws:states:::states:startExecution.sync") handlers[stateName] = (i) => this.startChild(i, children, "string");
      else if (map !== undefined && resource === `${LOCAL_DISTRIBUTED_MAP_RESOURCE}:${stateName}`) {
        // Each item is a child execution of its own (its own history), named as the service names a Map Run's.
        handlers[stateName] = (i) =>
          runDistributedMap(map, i, context, async (processor, itemInput, index) => {
            const childName = `${name}:${stateName}:${String(index)}`;
            const child = await this.run(processor, itemInput, childName, `${arn}:${stateName}:${String(index)}`);
            children.push(child);
            return child;
          });
      } else throw new Error(`task ${stateName}: the local runner cannot run resource ${resource}`);
    }
    const retryDelays = Object.fromEntries(Object.keys(handlers).map((state) => [state, this.options.retryDelayMs ?? 10]));
    const stateMachine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
    const execution = stateMachine.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides: retryDelays },
      context,
    });
    const events: EventLog[] = [];
    // Step Functions fails the execution when a state's output passes 256 KiB; no Catch sees it.
    let tooLarge: { state: string; bytes: number } | undefined;
    const collecting = (async () => {
      for await (const event of execution.eventLogs as AsyncIterable<EventLog>) {
        events.push(event);
        const bytes = event.type === "StateExited" && tooLarge === undefined ? Buffer.byteLength(JSON.stringify(event.state?.output ?? null)) : 0;
        if (bytes > MAX_PAYLOAD_BYTES) tooLarge = { state: event.state?.name ?? "?", bytes };
      }
    })();
    let record: ExecutionRecord;
    try {
      const output = await execution.result;
      record = { name, arn, status: "SUCCEEDED", output: json(output), error: undefined, cause: undefined, historyEvents: 0, stateTransitions: 0, children };
    } catch (error) {
      // The interpreter rejects with ExecutionError; its cause is the state's error (name = Error, message = Cause).
      const failure = error instanceof Error ? error : new Error(String(error));
      const caught = failure.cause instanceof Error ? failure.cause : failure;
      record = {
        name,
        arn,
        status: "FAILED",
        output: undefined,
        error: caught.name,
        cause: caught.message,
        historyEvents: 0,
        stateTransitions: 0,
        children,
      };
    }
    await collecting;
    if (tooLarge !== undefined) {
      // The events arrive behind the run: whatever it did after the oversized state, AWS would have ended it there.
      const cause = `The state/task '${tooLarge.state}' returned a result with a size exceeding the maximum number of bytes service limit (${String(tooLarge.bytes)} > ${String(MAX_PAYLOAD_BYTES)}).`;
      record = { name, arn, status: "FAILED", output: undefined, error: "States.DataLimitExceeded", cause, historyEvents: 0, stateTransitions: 0, children };
    }
    record.historyEvents = historyEventCount(events);
    record.stateTransitions = events.filter((event) => event.type === "StateEntered" || event.type === "StateRetried").length;
    this.options.onExecution?.(record);
    return record;
  }
}
