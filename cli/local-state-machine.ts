/**
 * The state machine run here (--local): the local runner (aws-local-stepfunctions) with the real handlers. Loaded
 * only when asked for, because the runner and the stand-ins are dev dependencies: an installed `mrsync` (npm install
 * --omit=dev) runs every other command without them.
 */
import { WAREHOUSE_ROLE_ENV } from "#adapters/redshift-data.ts";
import type * as Runner from "#local/stepfunctions/runner.ts";
import { CliError, EXIT } from "./output.ts";

/**
 * Imported by name at run time, never bundled: it lives in a checkout (local/, TypeScript), not in the package, and
 * reads the ASL from the checkout's statemachines/.
 */
const RUNNER_MODULE = "#local/stepfunctions/runner.ts";

export async function localStateMachine(options: { onStep?: Runner.StepObserver } = {}): Promise<Runner.LocalStateMachine> {
  let runner: typeof Runner;
  try {
    runner = (await import(RUNNER_MODULE)) as typeof Runner;
  } catch (error: unknown) {
    const code = (error as { code?: string }).code;
    if (code !== "ERR_MODULE_NOT_FOUND" && code !== "ERR_PACKAGE_IMPORT_NOT_DEFINED" && code !== "ERR_UNKNOWN_FILE_EXTENSION") throw error;
    throw new CliError(
      `running the state machine here (--local) needs a checkout of mysql-redshift-sync after npm ci (Node 24), not the installed package: ${(error as Error).message}`,
      EXIT.usage,
    );
  }
  // The functions submit and poll as the warehouse role, as deployed (against AWS: the stack's WarehouseRoleArn
  // output in MRSYNC_WAREHOUSE_ROLE_ARN).
  process.env[WAREHOUSE_ROLE_ENV] ??= runner.LOCAL_WAREHOUSE_ROLE_ARN;
  return new runner.LocalStateMachine({
    handlers: await runner.realHandlers(),
    ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
  });
}
