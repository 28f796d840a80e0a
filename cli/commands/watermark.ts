/** `mrsync watermark get|reset|set -p P -t T` */
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import type { Watermark } from "#domain/watermark.ts";
import { hostname } from "node:os";
import { StepFunctions } from "#adapters/step-functions.ts";
import {
  CursorValueError,
  getWatermark,
  LeaseReleaseRefusedError,
  releaseWatermark,
  resetWatermark,
  setWatermark,
  type HolderCheck,
} from "#services/watermarks.ts";
import { CliError, EXIT, type Output } from "../output.ts";
import { pipeline, table } from "../tables.ts";

type TableOptions = { pipeline: string; table: string };

function describe(watermark: Watermark | undefined, showFiles: boolean): string {
  if (watermark === undefined) return "no watermark yet: the next run syncs the table from the start";
  const state = watermark.mysql_state;
  const lines = [
    `${watermark.pipeline} / ${watermark.table_name} [${watermark.cdc_strategy}]`,
    `  cursor:    timestamp ${watermark.last_mysql_data_timestamp ?? "-"}, ${watermark.last_processed_key !== null && watermark.last_processed_key.length > 1 ? `key ${JSON.stringify(watermark.last_processed_key)}` : `id ${watermark.last_processed_id ?? "-"}`}`,
    `  extract:   ${state.status}, ${state.total_rows} rows in all, ${state.last_session_rows} in the last run (${state.run_id ?? "-"})`,
    `  lease:     ${state.lease_expires_at === null ? "free" : `held by ${state.run_id ?? "?"} until ${state.lease_expires_at}${state.lease_holder === null ? "" : ` (begun on ${state.lease_holder.host}, process ${state.lease_holder.pid})`}`}`,
    `  load:      ${watermark.redshift_state.status}, ${watermark.redshift_state.rows_loaded} rows loaded, last ${watermark.redshift_state.last_loaded_at ?? "-"}`,
    `  files:     ${watermark.s3_state.backup_s3_files.length} pending load, ${watermark.s3_state.processed_s3_files.length} recent loaded`,
  ];
  if (state.last_error !== null) lines.push(`  error:     ${state.last_error}`);
  if (showFiles) {
    lines.push(...watermark.s3_state.backup_s3_files.map((f) => `  pending    ${f}`), ...watermark.s3_state.processed_s3_files.map((f) => `  loaded     ${f}`));
  }
  return lines.join("\n");
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}

const tableOptions = (command: Command) =>
  command.requiredOption("-p, --pipeline <name>", "pipeline name").requiredOption("-t, --table <schema.table>", "table, as written in the pipeline file");

export function watermarkCommands(program: Command, output: () => Output): void {
  const group = program.command("watermark").description("read or move a table's watermark (its sync position)");
  tableOptions(group.command("get").description("the table's cursor, run, lease, load state and files"))
    .option("--show-files", "list the pending and recently loaded files", false)
    .action(async (options: TableOptions & { showFiles: boolean }) => {
      const out = output();
      const watermark = await getWatermark(table(await pipeline(out.options.configDir, options.pipeline), options.table));
      out.result(watermark ?? null, () => describe(watermark, options.showFiles));
    });
  tableOptions(group.command("reset").description("forget the cursor: the next run re-reads the whole table (pending files stay)"))
    .option("--yes", "do not ask for confirmation", false)
    .action(async (options: TableOptions & { yes: boolean }) => {
      const out = output();
      const context = table(await pipeline(out.options.configDir, options.pipeline), options.table);
      if (!options.yes && !(await confirm(`Reset ${options.pipeline} / ${options.table}? The next run re-reads the whole table.`))) {
        throw new CliError("not reset: confirm with --yes (or answer y on a terminal)", EXIT.failed);
      }
      const watermark = await resetWatermark(context);
      out.result(watermark, () => `reset.\n${describe(watermark, false)}`);
    });
  tableOptions(group.command("set").description("move the cursor (e.g. skip history, or re-read from a point)"))
    .option(
      "--timestamp <ts>",
      'cursor timestamp as MySQL writes it ("2025-11-27 15:30:00.123456"): UTC for a TIMESTAMP column, the source\'s zone for DATETIME',
    )
    .option("--id <id>", "cursor id of a one-column key (digits)")
    .option("--key <json>", `cursor of a key of several columns, as a JSON array in key order (e.g. '[10001, "1986-06-26"]')`)
    .action(async (options: TableOptions & { timestamp?: string; id?: string; key?: string }) => {
      const out = output();
      if (options.timestamp === undefined && options.id === undefined && options.key === undefined) throw new CliError("give --timestamp, --id and/or --key");
      if (options.id !== undefined && options.key !== undefined) throw new CliError("give --id or --key, not both");
      if (options.id !== undefined && !/^-?\d+$/.test(options.id)) throw new CliError(`--id must be an integer, got ${JSON.stringify(options.id)}`);
      let key: string[] | undefined = options.id === undefined ? undefined : [options.id];
      if (options.key !== undefined) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(options.key);
        } catch {
          parsed = undefined;
        }
        if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((v) => typeof v === "string" || typeof v === "number")) {
          throw new CliError(`--key must be a JSON array of the key's values, got ${options.key}`);
        }
        // JSON numbers past 2^53 arrive rounded: such a key value must be written as a string.
        const inexact = parsed.find((v) => typeof v === "number" && Number.isInteger(v) && !Number.isSafeInteger(v));
        if (inexact !== undefined) throw new CliError(`--key: ${String(inexact)} is past 2^53 and was rounded: give it as a string ("…")`);
        key = parsed.map(String);
      }
      const context = table(await pipeline(out.options.configDir, options.pipeline), options.table);
      let watermark: Watermark;
      try {
        watermark = await setWatermark(context, { timestamp: options.timestamp, key });
      } catch (error) {
        if (error instanceof CursorValueError || (error instanceof Error && error.message.startsWith("the key has"))) throw new CliError(error.message);
        throw error;
      }
      out.result(watermark, () => `set.\n${describe(watermark, false)}`);
    });
  tableOptions(
    group
      .command("release")
      .description("free the lease of a run that is gone (a crashed local run; an execution stopped or timed out), refusing while it may still run"),
  )
    .option("--state-machine-arn <arn>", "a deployed run: refuse while its execution is RUNNING")
    .option("--force", "release without checking (you know the run is gone)", false)
    .action(async (options: TableOptions & { stateMachineArn?: string; force: boolean }) => {
      const out = output();
      const context = table(await pipeline(out.options.configDir, options.pipeline), options.table);
      let outcome: Awaited<ReturnType<typeof releaseWatermark>>;
      try {
        outcome = await releaseWatermark(context, options.force ? () => Promise.resolve(undefined) : holderCheck(options.stateMachineArn));
      } catch (error) {
        if (error instanceof LeaseReleaseRefusedError) throw new CliError(error.message, EXIT.failed);
        throw error;
      }
      const { released, watermark } = outcome;
      out.result({ released: released ?? null, watermark: watermark ?? null }, () =>
        released === undefined
          ? "the table's lease is free: nothing to release"
          : `released run ${released}'s lease: the next run resumes from the last committed chunk.\n${describe(watermark, false)}`,
      );
    });
}

/** Is the run that holds the lease still alive? A deployed run: its execution; a local one: its process on this host. */
function holderCheck(stateMachineArn: string | undefined): HolderCheck {
  return async ({ runId, host, pid }) => {
    if (stateMachineArn !== undefined) {
      const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${runId}`;
      const sfn = new StepFunctions();
      try {
        const execution = await sfn.describe(executionArn);
        if (execution === undefined)
          return `no execution ${runId} on ${stateMachineArn}: is it the state machine that ran it? (--force if you know the run is gone)`;
        return execution.status === "RUNNING"
          ? `execution ${executionArn} is RUNNING: let it finish, or stop it (aws stepfunctions stop-execution --execution-arn ${executionArn})`
          : undefined;
      } finally {
        sfn.destroy();
      }
    }
    if (host === undefined || pid === undefined) return "the lease does not say where its run began: give --state-machine-arn for a deployed run, or --force";
    if (host !== hostname()) return `it began on host ${host}, not here: check there, give --state-machine-arn for a deployed run, or --force`;
    try {
      process.kill(pid, 0);
      return `process ${pid} on this host is alive: let it finish, or stop it`;
    } catch (error) {
      // ESRCH: no such process. EPERM: it exists (another user's).
      return (error as { code?: string }).code === "EPERM" ? `process ${pid} on this host is alive (another user's)` : undefined;
    }
  };
}
