/**
 * What the benchmarks share: each phase runs in a fresh process (so its peak RSS is its own, measured the same way)
 * and reports back over IPC — or prints, when a phase is run by hand (e.g. under --cpu-prof).
 */
import { fork } from "node:child_process";
import { LAMBDA_NODE_OPTIONS } from "#shared/runtime.ts";

export const maxRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

/** Forks `script` with `args` (which name the phase) under the Lambda node options; resolves with what it reports. */
export function runPhase<T>(script: string, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(script, [...args], { stdio: ["inherit", "inherit", "inherit", "ipc"], execArgv: [...process.execArgv, ...LAMBDA_NODE_OPTIONS] });
    child.once("message", (message) => {
      resolve(message as T);
    });
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`bench phase ${args.join(" ")} exited with ${code}`));
    });
  });
}

/** A phase's result, back to the parent (or printed when run by hand). */
export function report(result: unknown): void {
  if (process.send === undefined) console.log(JSON.stringify(result));
  else process.send(result);
}
