/**
 * The 25,000-event history limit, on the real ASL: a table needing 10,000 chunks (and a load awaited 1,000 times)
 * continues in child executions, every execution's history stays under the limit, and the counts add up. The
 * table steps are simulated (a chunk costs nothing here); Plan and Summarize are the real handlers.
 */
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { HISTORY_LIMIT } from "#domain/run-plan.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { LocalStateMachine, realHandlers, type ExecutionRecord, type LambdaHandler } from "#local/stepfunctions/runner.ts";
import { emptyMeter, type Progress, type Resume, type Run, type TableResult } from "#shared/steps.ts";

const TABLE = "mrsync_demo.settle_orders";
let real: Record<string, LambdaHandler>;

beforeAll(async () => {
  process.env.MRSYNC_CONFIG_DIR = path.join(import.meta.dirname, "..", "..", "config");
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
  real = await realHandlers();
});

type Simulation = { chunks: number; polls: number };

/** Table steps that count instead of working: `chunks` chunks of 100 rows, then one load finishing after `polls` polls. */
type Calls = { begin: number; extract: number; describe: number; submit: number; polled: Set<string> };

function simulated(target: Simulation, calls: Calls) {
  const handlers: Record<string, LambdaHandler> = {
    ...real,
    BeginFunctionArn: (event) => {
      calls.begin++;
      const { resume } = event as { resume: Resume | null };
      if (resume !== null) return Promise.resolve({ ...resume.progress, chunksHere: 0 });
      const nowhere = { timestamp: null, key: null };
      const progress: Progress = {
        runId: "sim",
        schemaKey: "s",
        tableStartedAt: new Date().toISOString(),
        start: nowhere,
        ceiling: nowhere,
        done: false,
        rows: 0,
        files: 0,
        bytes: 0,
        chunks: 0,
        chunksHere: 0,
        extractMs: 0,
        rowsLoaded: 0,
        filesLoaded: 0,
        loadConflicts: 0,
        loads: 0,
        loadMs: 0,
        pendingFiles: 0,
        meter: emptyMeter(),
      };
      return Promise.resolve(progress);
    },
    ExtractChunkFunctionArn: (event) => {
      calls.extract++;
      const { progress } = event as { progress: Progress };
      const chunks = progress.chunks + 1;
      return Promise.resolve({
        ...progress,
        chunks,
        chunksHere: progress.chunksHere + 1,
        rows: progress.rows + 100,
        files: progress.files + 1,
        done: chunks >= target.chunks,
      });
    },
    SubmitLoadFunctionArn: () => {
      calls.submit++;
      return Promise.resolve({
        loadId: "l",
        manifestKey: "m",
        schemaKey: "s",
        statementId: "st-1",
        insertIndex: 3,
        files: 1,
        submittedAt: new Date().toISOString(),
      });
    },
    CompleteLoadFunctionArn: (event) => {
      const { progress } = event as { progress: Progress };
      return Promise.resolve({ ...progress, rowsLoaded: progress.rows, loads: progress.loads + 1, pendingFiles: 0 });
    },
    FinishFunctionArn: (event) => {
      const { progress, table } = event as { progress: Progress; table: string; run: Run };
      const result: TableResult = {
        table,
        status: "success",
        rows_processed: progress.rows,
        files_created: progress.files,
        bytes_written: 0,
        rows_loaded: progress.rowsLoaded,
        duration_seconds: 0,
        completed_at: new Date().toISOString(),
      };
      return Promise.resolve(result);
    },
  };
  // AwaitLoad: one call per poll, the statement still running until the `polls`th.
  handlers.AwaitLoadFunctionArn = (event) => {
    const { load } = event as { load: { statementId: string } };
    calls.describe++;
    calls.polled.add(load.statementId);
    // As the real step answers: the load, with its status.
    return Promise.resolve({ ...load, status: calls.describe >= target.polls ? "FINISHED" : "STARTED" });
  };
  return { handlers };
}

function everyExecution(root: ExecutionRecord): ExecutionRecord[] {
  return [root, ...root.children.flatMap(everyExecution)];
}

async function simulate(target: Simulation) {
  const calls: Calls = { begin: 0, extract: 0, describe: 0, submit: 0, polled: new Set() };
  const machine = new LocalStateMachine({ ...simulated(target, calls) });
  const root = await machine.startExecution({ pipeline: "demo", tables: [TABLE] }, "sim-root");
  return { root, calls, executions: everyExecution(root) };
}

describe("history budget (25,000 events per execution)", () => {
  it("runs a 10,000-chunk table across child executions, each under the limit, with every chunk counted once", async () => {
    const { root, calls, executions } = await simulate({ chunks: 10_000, polls: 1 });
    expect(root.status, root.cause).toBe("SUCCEEDED");
    expect(calls.extract).toBe(10_000);
    expect(calls.begin).toBe(executions.length);
    expect(executions.length).toBeGreaterThanOrEqual(4);
    for (const execution of executions) expect(execution.historyEvents, execution.name).toBeLessThan(HISTORY_LIMIT);
    // Without the budget the single history would have been far over the limit.
    expect(executions.reduce((n, e) => n + e.historyEvents, 0)).toBeGreaterThan(HISTORY_LIMIT * 2);
    const summary = root.output as RunSummary;
    expect(summary.execution_id).toBe("sim-root");
    expect(summary.status).toBe("success");
    expect(summary.table_results[TABLE]).toMatchObject({ status: "success", rows_processed: 1_000_000, files_created: 10_000, rows_loaded: 1_000_000 });
  });

  it("continues a load polled past the table's poll budget in a child execution", async () => {
    const { root, calls, executions } = await simulate({ chunks: 3, polls: 1_000 });
    expect(root.status, root.cause).toBe("SUCCEEDED");
    expect(calls.describe).toBe(1_000);
    expect(executions.length).toBeGreaterThanOrEqual(4);
    // Each child resumed at the poll of the parent's statement: submitted once, never again.
    expect(calls.submit).toBe(1);
    expect([...calls.polled]).toEqual(["st-1"]);
    for (const execution of executions) expect(execution.historyEvents, execution.name).toBeLessThan(HISTORY_LIMIT);
    expect((root.output as RunSummary).table_results[TABLE]).toMatchObject({ status: "success", rows_processed: 300, rows_loaded: 300 });
  });
});
