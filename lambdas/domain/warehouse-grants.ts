/**
 * Pure: the SQL an administrator runs once so the pipeline's database user can load its targets (README, "Deploying").
 * Every step that talks to Redshift runs as one database user — `IAMR:<warehouse role>` on Redshift Serverless with
 * IAM auth, the cluster's `db_user`, or a secret's user — which owns the tables and ledger it creates and reaches
 * nothing else until granted. The sync creates its target schema only where that user may create schemas (it fails
 * naming this script otherwise); it creates tables (target, ledger) in its target schema,
 * adds columns to them and widens them, which Redshift allows their owner only.
 */
import type { ResolvedPipeline } from "#config/resolve.ts";
import { ledgerTable } from "./load-plan.ts";
import { quoteRedshift } from "./redshift-ddl.ts";

export type GrantScript = { databaseUser: string; statements: { sql: string; why: string }[] };

/** The database user a target's SQL runs as, where config alone tells it (a cluster's db_user). */
export function configuredDatabaseUser(pipeline: ResolvedPipeline): string | undefined {
  return pipeline.target.secret === undefined ? pipeline.target.db_user : undefined;
}

/** `IAMR:<role name>` for a role ARN (paths dropped), as Redshift names an assumed role's database user. */
export function iamRoleDatabaseUser(roleArnOrName: string): string {
  return `IAMR:${roleArnOrName.split("/").at(-1) ?? roleArnOrName}`;
}

export function warehouseGrants(pipeline: ResolvedPipeline, databaseUser: string): GrantScript {
  const user = quoteRedshift(databaseUser);
  const schema = quoteRedshift(pipeline.target.schema);
  const statements = [
    {
      sql: `CREATE USER ${user} PASSWORD DISABLE`,
      why: "Redshift creates an IAM identity's user at its first sign-in; create it now to grant before the first run (skip if it exists)",
    },
    { sql: `CREATE SCHEMA IF NOT EXISTS ${schema}`, why: "the sync's user may not create schemas (a missing one fails the load naming this script)" },
    { sql: `GRANT USAGE, CREATE ON SCHEMA ${schema} TO ${user}`, why: `create and use the target tables and their load ledgers (${ledgerTable("<table>")})` },
    ...pipeline.tables.map((table) => ({
      sql: `ALTER TABLE ${schema}.${quoteRedshift(table.targetName)} OWNER TO ${user}`,
      why: `only if ${pipeline.target.schema}.${table.targetName} exists already, created by another user: the sync adds and widens its columns, which only the owner may`,
    })),
  ];
  return { databaseUser, statements };
}

/** The script as text: each statement under a comment that says why. */
export function grantScriptText(pipeline: ResolvedPipeline, script: GrantScript): string {
  return [
    `-- mysql-redshift-sync: grants for pipeline ${pipeline.name} (${pipeline.file}), database ${pipeline.target.database}`,
    `-- run once as a superuser (or the schema's owner); the steps run as database user ${script.databaseUser}`,
    ...script.statements.flatMap((s) => [`-- ${s.why}`, `${s.sql};`]),
  ].join("\n");
}
