/**
 * `mrsync reconcile -p P [-t T]… [--dry-run] [--local | --state-machine-arn ARN] [--json-output F]` — every difference
 * between MySQL and Redshift over whole tables (lambdas/services/reconcile.ts). Without --dry-run the differences
 * are repaired (lambdas/services/reconcile-repair.ts): rows missing or different are re-extracted and loaded by one
 * `redshift_only` execution (here, or of the deployed machine), rows only in Redshift follow the table's
 * delete_policy; then the tables are compared again. Exit 1 while a difference remains (or is only reported).
 */
import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import type { ResolvedPipeline } from "#config/resolve.ts";
import { loadContext } from "#services/environment.ts";
import { differencesOf, findDifferences, type ReconcileReport } from "#services/reconcile.ts";
import { MASS_DELETE, reconcileAndStage } from "#services/reconcile-repair.ts";
import { deployedRunner, localRunner, type Execution } from "../executions.ts";
import { CliError, EXIT, type Output } from "../output.ts";
import { pipeline } from "../tables.ts";

type ReconcileOptions = {
  pipeline: string;
  table: string[];
  dryRun: boolean;
  allowMassDelete: boolean;
  stateMachineArn?: string;
  pollSeconds: string;
  jsonOutput?: string;
};

/** A table's outcome: what was found, what the repair did, and what is left. */
export type TableReconcile = {
  found: ReconcileReport;
  staged: { file: string | undefined; rows: number };
  deleted: number;
  /** Compared again after the repair was loaded (undefined: nothing repaired, or the repair did not load). */
  after: ReconcileReport | undefined;
  /** The repair load of this table did not succeed: why (its rows stay pending; the next sync loads them). */
  repairFailed?: string;
};

function line(result: TableReconcile): string {
  const { found, after } = result;
  const differences = differencesOf(found);
  const ranges =
    found.ranges === undefined
      ? ""
      : `, MySQL in ${found.ranges.count} key ranges${found.ranges.readBefore.length === 0 ? "" : ` (${found.ranges.readBefore.length} read by an interrupted reconcile, not again)`}`;
  const head = `${differences === "" ? "clean  " : "DIFFERS"} ${found.table} → ${found.target}: MySQL ${found.rows.mysql} rows, Redshift ${found.rows.redshift}, ${found.buckets} buckets${ranges}, ${found.durationSeconds.toFixed(1)}s`;
  const lines = [head, ...(differences === "" ? [] : [`        ${differences}`])];
  if (found.inFlight > 0) lines.push(`        ${found.inFlight} row(s) changed since the last sync: left to the next sync`);
  if (result.repairFailed !== undefined) {
    lines.push(`        REPAIR FAILED: ${result.repairFailed}; ${result.staged.rows} row(s) stay staged (the next sync loads them), ${result.deleted} deleted`);
  } else if (result.staged.rows > 0 || result.deleted > 0) lines.push(`        repaired: ${result.staged.rows} row(s) re-loaded, ${result.deleted} deleted`);
  if (after !== undefined) lines.push(`        after repair: ${differencesOf(after) === "" ? "clean" : differencesOf(after)}`);
  lines.push(...found.notCompared.map((n) => `        not compared: ${n.column}: ${n.why}`));
  return lines.join("\n");
}

/** What is still different: after the repair where there was one; extras under delete_policy report stay. */
const remaining = (result: TableReconcile) => result.repairFailed !== undefined || differencesOf(result.after ?? result.found) !== "";

/** Why a table's repair load did not succeed, from its execution (undefined: it loaded). */
function repairFailure(load: Execution, table: string): string | undefined {
  const line = load.summary?.table_results[table];
  if (line?.status === "success") return undefined;
  if (line !== undefined) return `the repair load ${load.name} ended ${line.status}: ${line.error_type ?? ""} ${line.error_message ?? ""}`.trim();
  return `the repair load ${load.name} ended ${load.status}${load.error === undefined ? "" : `: ${load.error}`}`;
}

export function reconcileCommands(program: Command, output: () => Output): void {
  program
    .command("reconcile")
    .description(
      "compare whole tables between MySQL and Redshift by their unique key, and repair what differs (rows missing, different, or only in Redshift per delete_policy)",
    )
    .requiredOption("-p, --pipeline <name>", "pipeline name")
    .option("-t, --table <schema.table>", "a table to reconcile (repeat for several; default: all)", (value: string, all: string[]) => [...all, value], [])
    .option("--dry-run", "report only: change nothing", false)
    .option("--allow-mass-delete", `delete_policy hard may delete more than ${MASS_DELETE.rows} rows and ${MASS_DELETE.share * 100}% of a table`, false)
    .option("--state-machine-arn <arn>", "repair loads through the deployed state machine (stack output StateMachineArn)")
    .option("--poll-seconds <n>", "seconds between two looks at a deployed execution", "10")
    .option("--json-output <file>", "write the results (JSON) to this file")
    .action(async (options: ReconcileOptions) => {
      const out = output();
      const resolved: ResolvedPipeline = await pipeline(out.options.configDir, options.pipeline);
      const unknown = options.table.filter((t) => !resolved.tables.some((r) => r.key === t));
      if (unknown.length > 0)
        throw new CliError(`pipeline ${resolved.name} has no table ${unknown.join(", ")}; its tables: ${resolved.tables.map((t) => t.key).join(", ")}`);
      if (!options.dryRun && out.options.local === (options.stateMachineArn !== undefined)) {
        throw new CliError("a repair loads through the state machine: give --local (run it here) or --state-machine-arn <arn>, or --dry-run to report only");
      }
      const tables = options.table.length > 0 ? options.table : resolved.tables.map((t) => t.key);
      const results: TableReconcile[] = [];
      for (const table of tables) {
        const context = loadContext(resolved, table);
        out.info(`reconciling ${table}`);
        if (options.dryRun) {
          results.push({ found: (await findDifferences(context)).report, staged: { file: undefined, rows: 0 }, deleted: 0, after: undefined });
        } else {
          const repair = await reconcileAndStage(context, { allowMassDelete: options.allowMassDelete });
          results.push({ found: repair.report, staged: repair.staged, deleted: repair.deleted, after: undefined });
        }
      }
      const repaired = results.filter((r) => r.staged.file !== undefined || r.deleted > 0);
      const staged = repaired.filter((r) => r.staged.file !== undefined).map((r) => r.found.table);
      if (staged.length > 0) {
        const run = out.options.local ? await localRunner() : deployedRunner(options.stateMachineArn ?? "", Number(options.pollSeconds));
        const load = await run({ pipeline: resolved.name, tables: staged, mode: "redshift_only" });
        out.info(`loaded the repairs: ${load.name} ${load.status}`);
        for (const result of repaired) {
          const failed = result.staged.file === undefined ? undefined : repairFailure(load, result.found.table);
          if (failed !== undefined) result.repairFailed = failed;
        }
      }
      // Compared again only where the repair is in: a repair that did not load is never reported clean.
      for (const result of repaired.filter((r) => r.repairFailed === undefined)) {
        result.after = (await findDifferences(loadContext(resolved, result.found.table))).report;
      }
      if (options.jsonOutput !== undefined) await writeFile(options.jsonOutput, `${JSON.stringify(results, null, 2)}\n`);
      out.result(results, () => results.map(line).join("\n"));
      if (results.some(remaining)) process.exitCode = EXIT.failed;
    });
}
