/** `mrsync grants -p P [--database-user U | --role-arn ARN]` — the SQL an administrator runs once for a pipeline's database user. */
import type { Command } from "commander";
import { configuredDatabaseUser, grantScriptText, iamRoleDatabaseUser, warehouseGrants } from "#domain/warehouse-grants.ts";
import { redshiftData, WAREHOUSE_ROLE_ENV } from "#adapters/redshift-data.ts";
import { CliError, EXIT, type Output } from "../output.ts";
import { pipeline } from "../tables.ts";

type GrantOptions = { pipeline: string; databaseUser?: string; roleArn?: string; verify?: boolean };

export function grantsCommands(program: Command, output: () => Output): void {
  program
    .command("grants")
    .description("print the GRANTs an administrator runs once so the pipeline's steps can load its target (README, Deploying)")
    .requiredOption("-p, --pipeline <name>", "pipeline name")
    .option("--database-user <name>", "the database user the steps run as (stack output WarehouseDatabaseUser; a secret's username)")
    .option("--role-arn <arn>", `the warehouse role (stack output WarehouseRoleArn; default: ${WAREHOUSE_ROLE_ENV}): its user is IAMR:<role name>`)
    .option(
      "--verify",
      `sign in as the warehouse role (--role-arn, else ${WAREHOUSE_ROLE_ENV}) and check that the script names the user Redshift gives it (SELECT current_user): exit 1 if not`,
      false,
    )
    .action(async (options: GrantOptions) => {
      const out = output();
      const resolved = await pipeline(out.options.configDir, options.pipeline);
      const roleArn = options.roleArn ?? process.env[WAREHOUSE_ROLE_ENV];
      const databaseUser =
        options.databaseUser ??
        configuredDatabaseUser(resolved) ??
        (resolved.target.secret === undefined && roleArn !== undefined && roleArn !== "" ? iamRoleDatabaseUser(roleArn) : undefined);
      if (databaseUser === undefined) {
        throw new CliError(
          resolved.target.secret === undefined
            ? `target ${resolved.targetName} signs in with IAM: give --role-arn (stack output WarehouseRoleArn) or --database-user (stack output WarehouseDatabaseUser)`
            : `target ${resolved.targetName} signs in with secret ${resolved.target.secret}: give --database-user <the secret's username>`,
        );
      }
      const script = warehouseGrants(resolved, databaseUser);
      if (options.verify !== true) {
        out.result(script, () => grantScriptText(resolved, script));
        return;
      }
      // The user name is Redshift's to make (IAMR:<role name>, case as Redshift keeps it): ask it, don't derive it —
      // signed in as the role the script is for (set before the first Data API client is made).
      if (options.roleArn !== undefined) process.env[WAREHOUSE_ROLE_ENV] = options.roleArn;
      const { rows } = await redshiftData(resolved.target).query("SELECT current_user");
      const actual = String(rows[0]?.[0] ?? "");
      const matches = actual === databaseUser;
      out.result({ database_user: databaseUser, current_user: actual, matches }, () =>
        matches
          ? `ok: the warehouse role signs in to ${resolved.target.database} as ${actual}, the user the script names`
          : `the script names ${databaseUser}, but the warehouse role signs in as ${actual}: run mrsync grants -p ${resolved.name} --database-user '${actual}'`,
      );
      if (!matches) process.exitCode = EXIT.failed;
    });
}
