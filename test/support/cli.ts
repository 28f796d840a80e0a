/**
 * Runs the mrsync CLI as an operator does: a subprocess with this process's environment (the fixture's endpoints), as
 * a session of the local operator role (the one the stack's warehouse role trusts; `MRSYNC_LOCAL_OPERATOR_ROLE_ARN` in
 * `env` to be another) unless `env` holds a session already.
 */
import { execFile, spawn } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { asLocalOperator } from "../../cli/local-operator.ts";

const CLI = path.join(import.meta.dirname, "..", "..", "bin", "mrsync.ts");
const exec = promisify(execFile);

export type CliRun = { code: number; stdout: string; stderr: string };

export async function runCli(configDir: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  try {
    const asOperator = env.AWS_ENDPOINT_URL_STS === undefined ? env : await asLocalOperator(env);
    const { stdout, stderr } = await exec(process.execPath, [CLI, "--config-dir", configDir, ...args], { env: asOperator, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as CliRun;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * A local `mrsync sync pipeline … --local --wait` of one table left running (to be killed mid-run): the process, and
 * the signal it exits with.
 */
export function startLocalSync(configDir: string, pipeline: string, table: string) {
  return startCli(configDir, ["sync", "pipeline", "-p", pipeline, "-t", table, "--local", "--wait"]);
}

/** The CLI started with `args` (not waited for): to be killed half way. */
export function startCli(configDir: string, args: readonly string[]) {
  const child = spawn(process.execPath, [CLI, "--config-dir", configDir, ...args], { env: process.env, stdio: "ignore" });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on("exit", (_code, signal) => {
      resolve(signal);
    }),
  );
  return { child, exited };
}
