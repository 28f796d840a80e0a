/**
 * `mrsync smoke -p P (--local | --state-machine-arn ARN)` — the first thing to run after `cdk deploy`, in a sandbox
 * account: the checks of cli/smoke/checks.ts against the deployed state machine (or here), one PASS/FAIL line each;
 * exit 1 when any fails.
 */
import type { Command } from "commander";
import { redshiftData } from "#adapters/redshift-data.ts";
import { s3Store } from "#adapters/s3.ts";
import { credentialResolver } from "#adapters/secrets.ts";
import { connectSource } from "#adapters/mysql.ts";
import { stagingBucket, syncPorts } from "#services/environment.ts";
import { tableContext } from "#services/sync-context.ts";
import { runSmoke, smokeProblems, type SmokeCheck } from "../smoke/checks.ts";
import { deployedRunner, localRunner } from "../executions.ts";
import { CliError, EXIT, type Output } from "../output.ts";
import { pipeline } from "../tables.ts";

type SmokeOptions = { pipeline: string; stateMachineArn?: string; pollSeconds: string };

const render = (checks: readonly SmokeCheck[]) => checks.map((c) => `${c.ok ? "PASS" : "FAIL"}  ${c.name}\n      ${c.detail}`).join("\n");

export function smokeCommands(program: Command, output: () => Output): void {
  program
    .command("smoke")
    .description(
      "after cdk deploy, in a sandbox: load every type, two tables at once, a failed load again, a table past its history budget (pipeline of mrsync_smoke tables)",
    )
    .requiredOption("-p, --pipeline <name>", "the smoke pipeline (config/examples/pipelines/smoke.yml): its tables are dropped and re-created")
    .option("--state-machine-arn <arn>", "the deployed state machine (stack output StateMachineArn)")
    .option("--poll-seconds <n>", "seconds between two looks at a deployed execution", "5")
    .action(async (options: SmokeOptions) => {
      const out = output();
      if (out.options.local === (options.stateMachineArn !== undefined))
        throw new CliError("give exactly one of --local (run it here) and --state-machine-arn <arn>");
      const resolved = await pipeline(out.options.configDir, options.pipeline);
      const problems = smokeProblems(resolved);
      if (problems.length > 0) throw new CliError(`pipeline ${resolved.name} (${resolved.file}) cannot be smoke-tested:\n  - ${problems.join("\n  - ")}`);
      const run = out.options.local ? await localRunner() : deployedRunner(options.stateMachineArn ?? "", Number(options.pollSeconds));
      const mysql = await connectSource(resolved.source, await credentialResolver().credentials(resolved.sourceName, resolved.source), "write");
      try {
        const ports = syncPorts(resolved);
        const checks = await runSmoke({
          pipeline: resolved,
          run,
          mysql,
          redshift: redshiftData(resolved.target),
          s3: s3Store(),
          bucket: stagingBucket(resolved),
          context: (table) => tableContext(ports, resolved, table),
          onProgress: (message) => {
            out.info(message);
          },
        });
        out.result({ pipeline: resolved.name, passed: checks.every((c) => c.ok), checks }, () => render(checks));
        if (!checks.every((c) => c.ok)) process.exitCode = EXIT.failed;
      } finally {
        await mysql.end();
      }
    });
}
