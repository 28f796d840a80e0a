/**
 * `mrsync sync pipeline -p P [-t T]… [--backup-only|--redshift-only] [--limit N] [--json-output F]
 *  [--s3-completion-bucket B] [--local | --state-machine-arn ARN] [--wait]`
 * Starts one execution of the sync state machine: deployed (StartExecution) or here (the same ASL and handlers,
 * against the endpoints in the environment). With --wait (always with --local) it follows the execution to its
 * end, prints each table's line and writes the run summary to --json-output.
 */
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { StepFunctions } from "#adapters/step-functions.ts";
import type { Command } from "commander";
import type { RunSummary } from "#domain/run-summary.ts";
import type { ResolvedPipeline } from "#config/resolve.ts";
import { localStateMachine } from "../local-state-machine.ts";
import { CleanupRefusedError, cleanupSource } from "#services/cleanup-source.ts";
import { loadContext } from "#services/environment.ts";
import { CliError, EXIT, type Output } from "../output.ts";
import { SyncProgress } from "../progress.ts";
import { pipeline } from "../tables.ts";

type SyncOptions = {
  pipeline: string;
  table: string[];
  backupOnly: boolean;
  redshiftOnly: boolean;
  limit?: string;
  jsonOutput?: string;
  s3CompletionBucket?: string;
  stateMachineArn?: string;
  wait: boolean;
  pollSeconds: string;
  thenCleanupSource: boolean;
};

/** sync_YYYYMMDD_HHMMSS_<8 hex>: the seed's execution ids, and a valid (unique) execution name. */
export function executionName(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  return `sync_${stamp}_${randomUUID().replaceAll("-", "").slice(0, 8)}`;
}

/** The summary of an ended execution: its output, or the JSON after the first line of a SyncFailed cause. */
export function summaryOf(status: string, output: unknown, error: string | undefined, cause: string | undefined): RunSummary | undefined {
  if (status === "SUCCEEDED") return output as RunSummary;
  if (error === "SyncFailed" && cause !== undefined) {
    try {
      return JSON.parse(cause.slice(cause.indexOf("\n") + 1)) as RunSummary;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function input(options: SyncOptions): Record<string, unknown> {
  if (options.backupOnly && options.redshiftOnly) throw new CliError("give at most one of --backup-only and --redshift-only");
  const limit = options.limit === undefined ? undefined : Number(options.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit <= 0)) throw new CliError(`--limit must be a positive integer, got ${options.limit ?? ""}`);
  return {
    pipeline: options.pipeline,
    ...(options.table.length > 0 ? { tables: options.table } : {}),
    mode: options.backupOnly ? "backup_only" : options.redshiftOnly ? "redshift_only" : "full",
    ...(limit === undefined ? {} : { limit }),
    ...(options.s3CompletionBucket === undefined ? {} : { completion_bucket: options.s3CompletionBucket }),
  };
}

function render(summary: RunSummary): string {
  const lines = Object.entries(summary.table_results).map(([table, r]) =>
    r.status === "success"
      ? `  ok      ${table}: ${r.rows_processed ?? 0} rows read, ${r.files_created ?? 0} files, ${r.rows_loaded ?? 0} rows loaded, ${r.duration_seconds ?? 0}s`
      : `  FAILED  ${table}: ${r.error_type ?? "Error"}: ${r.error_message ?? ""}`,
  );
  return [`${summary.execution_id}: ${summary.status} in ${summary.duration_seconds}s`, ...lines].join("\n");
}

async function runLocal(out: Output, request: Record<string, unknown>, name: string, tables: number) {
  // The handlers read the same environment a deployed function gets; endpoints come from AWS_ENDPOINT_URL_*.
  process.env.MRSYNC_CONFIG_DIR = out.options.configDir;
  const progress = new SyncProgress(tables, !out.options.quiet && !out.options.json);
  const machine = await localStateMachine({
    onStep: (step, input, output) => {
      progress.step(step, input, output);
    },
  });
  out.info(`running ${name} here (pipeline ${String(request.pipeline)})`);
  const record = await machine.startExecution(request, name);
  return { status: record.status as string, output: record.output, error: record.error, cause: record.cause };
}

async function runDeployed(out: Output, request: Record<string, unknown>, name: string, arn: string, wait: boolean, pollSeconds: number) {
  const sfn = new StepFunctions();
  try {
    const executionArn = await sfn.start(arn, name, request);
    out.info(`started ${executionArn}`);
    if (!wait) return { status: "RUNNING", output: { executionArn, name }, error: undefined, cause: undefined };
    // Long runs: a plain line per look (Airflow logs, CI); the console shows the per-table detail.
    const end = await sfn.waitForEnd(executionArn, pollSeconds, (state) => {
      out.info(`${name}: ${state.status} for ${Math.round((Date.now() - (state.startDate?.getTime() ?? Date.now())) / 1000)}s`);
    });
    return { status: end.status, output: end.output, error: end.error, cause: end.cause };
  } finally {
    sfn.destroy();
  }
}

/** The temp-table pattern after a sync: only a successful run is cleaned, each table only if its counts agree. */
async function cleanup(out: Output, resolved: ResolvedPipeline, summary: RunSummary): Promise<void> {
  if (summary.status !== "success") {
    out.info("source not cleaned: the sync did not succeed for every table");
    return;
  }
  for (const [table, result] of Object.entries(summary.table_results)) {
    try {
      const report = await cleanupSource(loadContext(resolved, table), result.rows_processed ?? 0);
      out.info(
        `cleaned ${table}: ${report.rowsDeleted} row(s) deleted from MySQL (counts ${report.counts.mysql}/${report.counts.processed}/${report.counts.redshift}), ${report.filesDeleted} staged file(s) deleted, watermark reset`,
      );
    } catch (error) {
      if (!(error instanceof CleanupRefusedError)) throw error;
      process.stderr.write(`${error.message}\n`);
      process.exitCode = EXIT.failed;
    }
  }
}

export function syncCommands(program: Command, output: () => Output): void {
  program
    .command("sync")
    .description("run a sync")
    .command("pipeline")
    .description("sync a pipeline's tables (all, or those given with -t)")
    .requiredOption("-p, --pipeline <name>", "pipeline name")
    .option("-t, --table <schema.table>", "a table to sync (repeat for several)", (value: string, all: string[]) => [...all, value], [])
    .option("--backup-only", "extract to S3 only; the files stay pending load", false)
    .option("--redshift-only", "load the pending files only; extract nothing", false)
    .option("--limit <rows>", "stop each table's run after this many rows")
    .option("--json-output <file>", "write the run summary (JSON) to this file")
    .option("--s3-completion-bucket <bucket>", "write completion markers to this bucket")
    .option("--state-machine-arn <arn>", "the deployed state machine (stack output StateMachineArn)")
    .option("--wait", "follow the execution to its end (always, with --local)", false)
    .option("--poll-seconds <n>", "seconds between two looks at a deployed execution", "10")
    .option(
      "--then-cleanup-source",
      "temp-table pattern: after a validated load, delete the synced rows from MySQL, the loaded files, and reset the watermark",
      false,
    )
    .action(async (options: SyncOptions) => {
      const out = output();
      const local = out.options.local;
      if (local === (options.stateMachineArn !== undefined)) throw new CliError("give exactly one of --local (run it here) and --state-machine-arn <arn>");
      if (options.thenCleanupSource && !local && !options.wait) throw new CliError("--then-cleanup-source needs the sync's end: add --wait (or use --local)");
      if (options.thenCleanupSource && (options.backupOnly || options.redshiftOnly || options.limit !== undefined)) {
        throw new CliError("--then-cleanup-source needs a full run of every row up to the ceiling: drop --backup-only, --redshift-only and --limit");
      }
      const request = input(options);
      const resolved = await pipeline(out.options.configDir, options.pipeline); // a config problem is a usage error, before anything starts
      if (options.thenCleanupSource) {
        // Rows deleted from MySQL on purpose must never be deleted (or marked) in Redshift by a reconcile.
        const deleting = resolved.tables.filter(
          (t) => (options.table.length === 0 || options.table.includes(t.key)) && (t.delete_policy === "hard" || t.delete_policy === "soft"),
        );
        if (deleting.length > 0) {
          throw new CliError(
            `--then-cleanup-source deletes the synced rows from MySQL on purpose, but ${deleting.map((t) => `${t.key} (delete_policy: ${t.delete_policy ?? ""})`).join(", ")} ` +
              `would then lose them in Redshift at the next reconcile; set delete_policy: report for the table in ${resolved.file}`,
          );
        }
      }
      const name = executionName();
      const ended = local
        ? await runLocal(out, request, name, options.table.length > 0 ? options.table.length : resolved.tables.length)
        : await runDeployed(out, request, name, options.stateMachineArn ?? "", options.wait, Number(options.pollSeconds));
      if (ended.status === "RUNNING") {
        out.result(ended.output, () => `${name} started; follow it with --wait or in the Step Functions console`);
        return;
      }
      const summary = summaryOf(ended.status, ended.output, ended.error, ended.cause);
      if (options.jsonOutput !== undefined && summary !== undefined) await writeFile(options.jsonOutput, `${JSON.stringify(summary, null, 2)}\n`);
      if (summary === undefined)
        throw new CliError(
          `${name} ended ${ended.status}: ${ended.error ?? ""}: ${ended.cause ?? ""}`,
          ended.error === "InvalidInputError" || ended.error === "ConfigError" ? EXIT.usage : EXIT.failed,
        );
      out.result(summary, () => render(summary));
      if (summary.status !== "success") process.exitCode = EXIT.failed;
      if (options.thenCleanupSource) await cleanup(out, resolved, summary);
    });
}
