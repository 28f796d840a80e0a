/** `mrsync status [-p P] [--state-machine-arn ARN]` — recent executions and every table's watermark state. */
import { StepFunctions } from "#adapters/step-functions.ts";
import type { Command } from "commander";
import { getWatermark } from "#services/watermarks.ts";
import type { Output } from "../output.ts";
import { config, table } from "../tables.ts";

type TableStatus = {
  pipeline: string;
  table: string;
  status: string;
  cursor: string;
  lease: string;
  pendingFiles: number;
  rowsLoaded: number;
  lastLoadedAt: string | null;
  lastError: string | null;
  /** What the table's last successful run cost, estimated (USD). */
  lastRunCostUsd: number | null;
  /** A window being read in key ranges (or left half read by a run that stopped): ranges read, of how many, rows so far. */
  ranges: { read: number; total: number; rows: number } | null;
};

export function statusCommands(program: Command, output: () => Output): void {
  program
    .command("status")
    .description("recent executions (with --state-machine-arn) and each table's sync state")
    .option("-p, --pipeline <name>", "one pipeline (default: all)")
    .option("--state-machine-arn <arn>", "list the deployed state machine's recent executions")
    .action(async (options: { pipeline?: string; stateMachineArn?: string }) => {
      const out = output();
      const { pipelines } = await config(out.options.configDir);
      const chosen = pipelines.filter((p) => options.pipeline === undefined || p.name === options.pipeline);
      if (chosen.length === 0) throw new Error(`no pipeline named ${options.pipeline ?? ""}; known: ${pipelines.map((p) => p.name).join(", ")}`);
      const tables: TableStatus[] = [];
      for (const p of chosen) {
        for (const t of p.tables) {
          const w = await getWatermark(table(p, t.key));
          const leased =
            w?.mysql_state.lease_expires_at !== null &&
            w?.mysql_state.lease_expires_at !== undefined &&
            Date.parse(w.mysql_state.lease_expires_at) > Date.now();
          tables.push({
            pipeline: p.name,
            table: t.key,
            status: w === undefined ? "never synced" : w.mysql_state.status,
            cursor: w === undefined ? "-" : `${w.last_mysql_data_timestamp ?? "-"} / ${w.last_processed_id ?? "-"}`,
            lease: leased ? `held by ${w.mysql_state.run_id ?? "?"}` : "free",
            pendingFiles: w?.s3_state.backup_s3_files.length ?? 0,
            rowsLoaded: w?.redshift_state.rows_loaded ?? 0,
            lastLoadedAt: w?.redshift_state.last_loaded_at ?? null,
            lastError: w?.mysql_state.last_error ?? null,
            lastRunCostUsd: w?.mysql_state.last_run_cost_usd ?? null,
            ranges:
              w === undefined || w.mysql_state.ranges.length === 0
                ? null
                : {
                    read: w.mysql_state.ranges.filter((r) => r.done).length,
                    total: w.mysql_state.ranges.length,
                    rows: w.mysql_state.ranges.reduce((sum, r) => sum + r.rows, 0),
                  },
          });
        }
      }
      let executions: { name: string; status: string; startDate: string | undefined; stopDate: string | undefined }[] = [];
      if (options.stateMachineArn !== undefined) {
        const sfn = new StepFunctions();
        try {
          executions = (await sfn.list(options.stateMachineArn, 10)).map((e) => ({
            name: e.name,
            status: e.status,
            startDate: e.startDate?.toISOString(),
            stopDate: e.stopDate?.toISOString(),
          }));
        } finally {
          sfn.destroy();
        }
      }
      out.result({ executions, tables }, () =>
        [
          ...executions.map((e) => `${e.status.padEnd(10)} ${e.name}  ${e.startDate ?? ""} → ${e.stopDate ?? "running"}`),
          ...tables.map(
            (t) =>
              `${t.pipeline}/${t.table}: ${t.status}, cursor ${t.cursor}, lease ${t.lease}, ${t.pendingFiles} file(s) pending, ${t.rowsLoaded} rows loaded (last ${t.lastLoadedAt ?? "-"})` +
              (t.lastRunCostUsd === null ? "" : `, last run ~$${t.lastRunCostUsd.toFixed(6)}`) +
              (t.ranges === null ? "" : `, key ranges ${t.ranges.read}/${t.ranges.total} read (${t.ranges.rows} rows)`) +
              (t.lastError === null ? "" : `\n  last error: ${t.lastError}`),
          ),
        ].join("\n"),
      );
    });
}
