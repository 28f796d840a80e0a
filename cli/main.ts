/**
 * The `mrsync` operator CLI: builds the commands (commander) and maps every failure to a message and an exit code
 * (0 ok, 1 failed, 2 usage or configuration). `run` is what bin/mrsync.ts and the tests call.
 */
import path from "node:path";
import { Command, CommanderError } from "commander";
import { WAREHOUSE_ROLE_ENV } from "#adapters/redshift-data.ts";
import { ConfigError } from "#config/errors.ts";
import { InvalidInputError } from "#domain/run-plan.ts";
import { configCommands } from "./commands/config.ts";
import { markersCommands } from "./commands/markers.ts";
import { grantsCommands } from "./commands/grants.ts";
import { smokeCommands } from "./commands/smoke.ts";
import { reconcileCommands } from "./commands/reconcile.ts";
import { connectionsCommands } from "./commands/connections.ts";
import { s3cleanCommands } from "./commands/s3clean.ts";
import { statusCommands } from "./commands/status.ts";
import { syncCommands } from "./commands/sync.ts";
import { watermarkCommands } from "./commands/watermark.ts";
import { LOCAL_CREDENTIALS, LOCAL_PORTS, LOCAL_WAREHOUSE_ROLE_ARN } from "#local/endpoints.ts";
import { asLocalOperator } from "./local-operator.ts";
import { VERSION } from "./version.ts";
import { CliError, EXIT, Output, type GlobalOptions } from "./output.ts";

export function program(): { command: Command; output: () => Output } {
  const command = new Command("mrsync")
    .description("operate mysql-redshift-sync: syncs, watermarks, completion markers, config")
    .version(VERSION, "-V, --version", "the installed mrsync version")
    .option("--config-dir <dir>", "the config directory", process.env.MRSYNC_CONFIG_DIR ?? path.join(process.cwd(), "config"))
    .option("--json", "machine-readable output on stdout", false)
    .option("-q, --quiet", "no progress lines", false)
    .option("--debug", "more detail on stderr (and stack traces)", false)
    .option("--local", "use the local stand-ins (npm run local) unless AWS_ENDPOINT_URL_* say otherwise; sync runs the state machine here", false)
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError()
    .exitOverride();
  const output = () => {
    const options = command.opts<GlobalOptions>();
    return new Output({ ...options, configDir: path.resolve(options.configDir) });
  };
  command.hook("preAction", async () => {
    if (command.opts<GlobalOptions>().local) {
      useStandIns(process.env);
      // As the operator (a session of the operator role), before any client is made: the warehouse role trusts
      // operators by name, not the stand-ins' throwaway key.
      Object.assign(process.env, await asLocalOperator(process.env).catch(notRunning));
    }
  });
  configCommands(command, output);
  watermarkCommands(command, output);
  syncCommands(command, output);
  markersCommands(command, output);
  s3cleanCommands(command, output);
  statusCommands(command, output);
  connectionsCommands(command, output);
  grantsCommands(command, output);
  smokeCommands(command, output);
  reconcileCommands(command, output);
  command.commands.forEach((sub) => sub.exitOverride());
  return { command, output };
}

/**
 * Stand-ins that are not running leave the environment as it is: the command fails on its own first call, saying
 * where it could not connect (or needs no AWS call at all).
 */
function notRunning(error: unknown): NodeJS.ProcessEnv {
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (code === "ECONNREFUSED" || (error instanceof Error && error.message.includes("ECONNREFUSED"))) return process.env;
  throw error;
}

/** The endpoints and throwaway credentials of `npm run local`, where the environment does not name others. */
export function useStandIns(env: NodeJS.ProcessEnv): void {
  env.AWS_ENDPOINT_URL_S3 ??= `http://127.0.0.1:${LOCAL_PORTS.s3}`;
  env.AWS_ENDPOINT_URL_REDSHIFT_DATA ??= `http://127.0.0.1:${LOCAL_PORTS.redshift}`;
  // The local Data API answers STS's AssumeRole too (the warehouse role's sessions).
  env.AWS_ENDPOINT_URL_STS ??= env.AWS_ENDPOINT_URL_REDSHIFT_DATA;
  env.AWS_ACCESS_KEY_ID ??= LOCAL_CREDENTIALS.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY ??= LOCAL_CREDENTIALS.secretAccessKey;
  env.AWS_REGION ??= "us-east-1";
  // The warehouse identity, set before any client is made: every warehouse call of the command (reconcile's
  // comparison and deletes, the repair loads it runs here) is made as the role the deployed functions use.
  env[WAREHOUSE_ROLE_ENV] ??= LOCAL_WAREHOUSE_ROLE_ARN;
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ConfigError || error instanceof InvalidInputError) return EXIT.usage;
  return EXIT.failed;
}

export async function run(argv: readonly string[]): Promise<number> {
  const { command } = program();
  try {
    await command.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const debug = command.opts<GlobalOptions>().debug;
    process.stderr.write(`mrsync: ${error instanceof Error ? (debug ? (error.stack ?? error.message) : error.message) : String(error)}\n`);
    return exitCodeOf(error);
  }
}
