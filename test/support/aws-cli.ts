/** The Debian AWS CLI (or any `aws` on PATH) as an independent client. CI installs it; locally it is optional. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

async function findAwsCli(): Promise<string | undefined> {
  try {
    await run("aws", ["--version"]);
    return "aws";
  } catch {
    return undefined;
  }
}

export const awsCli = await findAwsCli();

/** Whether the AWS CLI tests run: where `aws` exists, and always in CI (which installs it). */
export const withAwsCli = awsCli !== undefined || process.env.CI !== undefined;

/** Runs `aws <args> --endpoint-url <endpoint>` with throwaway credentials and no user config. */
export function aws(endpoint: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return run("aws", [...args, "--endpoint-url", endpoint, "--region", "us-east-1"], {
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local-secret",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
      AWS_PAGER: "",
    },
    maxBuffer: 64 * 1024 * 1024,
  });
}
