/**
 * `mrsync reconcile -p P [-t T]… [--json-output F]` — every difference between MySQL and Redshift over whole tables
 * (lambdas/services/reconcile.ts), reported; nothing is changed yet. Exit 1 when a table differs.
 */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { loadContext } from "#services/environment.ts";
import { differencesOf, reconcileTable, type ReconcileReport } from "#services/reconcile.ts";
import { CliError, EXIT, type Output } from "../output.ts";
import { pipeline } from "../tables.ts";

type ReconcileOptions = { pipeline: string; table: string[]; jsonOutput?: string };

function line(report: ReconcileReport): string {
  const differences = differencesOf(report);
  const head = `${differences === "" ? "clean " : "DIFFERS"} ${report.table} → ${report.target}: MySQL ${report.rows.mysql} rows, Redshift ${report.rows.redshift}, ${report.buckets} buckets, ${report.durationSeconds.toFixed(1)}s`;
  const notes = report.notCompared.map((n) => `        not compared: ${n.column}: ${n.why}`);
  return [head, ...(differences === "" ? [] : [`        ${differences}`]), ...notes].join("\n");
}

export function reconcileCommands(program: Command, output: () => Output): void {
  program
    .command("reconcile")
    .description("compare whole tables between MySQL and Redshift by their unique key: rows missing, only in Redshift, or different (report only)")
    .requiredOption("-p, --pipeline <name>", "pipeline name")
    .option("-t, --table <schema.table>", "a table to reconcile (repeat for several; default: all)", (value: string, all: string[]) => [...all, value], [])
    .option("--json-output <file>", "write the reports (JSON) to this file")
    .action(async (options: ReconcileOptions) => {
      const out = output();
      const resolved = await pipeline(out.options.configDir, options.pipeline);
      const unknown = options.table.filter((t) => !resolved.tables.some((r) => r.key === t));
      if (unknown.length > 0) throw new CliError(`pipeline ${resolved.name} has no table ${unknown.join(", ")}; its tables: ${resolved.tables.map((t) => t.key).join(", ")}`);
      const tables = options.table.length > 0 ? options.table : resolved.tables.map((t) => t.key);
      const reports: ReconcileReport[] = [];
      for (const table of tables) {
        const report = await reconcileTable(loadContext(resolved, table));
        reports.push(report);
        out.info(`${report.table}: ${differencesOf(report) === "" ? "clean" : "differs"}`);
      }
      if (options.jsonOutput !== undefined) await writeFile(options.jsonOutput, `${JSON.stringify(reports, null, 2)}\n`);
      out.result(reports, () => reports.map(line).join("\n"));
      if (reports.some((r) => differencesOf(r) !== "")) process.exitCode = EXIT.failed;
    });
}
