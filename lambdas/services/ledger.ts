/**
 * A target table's load ledger in Redshift (load-plan.ts, ledgerTable): made before the first load's transaction
 * locks it, and read to learn whether a load was applied — in the table's own ledger, and in the schema's shared
 * ledger of earlier versions where one exists (a load committed before the upgrade is applied, never applied again).
 */
import { RedshiftStatementError } from "#adapters/redshift-data.ts";
import { LEGACY_LEDGER_TABLE, ledgerLookupSql, ledgerTableSql, legacyLedgerLookupSql, sqlString } from "#domain/load-plan.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import type { LoadContext } from "./load.ts";

/** The target schema is missing and the database user may not create it: an administrator's step, named. */
export class TargetSchemaMissingError extends Error {
  override readonly name = "TargetSchemaMissingError";
}

const targetOf = (context: LoadContext) => ({ schema: context.pipeline.target.schema, table: context.table.targetName });

/**
 * The target schema exists (created where the database user may), and the table's ledger too, before any load's
 * transaction locks it. Loads starting together race to create them: the losers' "already exists" means they are there.
 */
export async function ensureLedger(context: LoadContext): Promise<void> {
  const target = targetOf(context);
  try {
    await context.redshift.query(ledgerTableSql(target));
  } catch (error) {
    if (error instanceof RedshiftStatementError && /schema .* does not exist/i.test(error.message)) {
      await createSchema(context, target.schema);
      await ensureLedger(context);
      return;
    }
    if (!(error instanceof RedshiftStatementError) || !/already exists|duplicate key value/i.test(error.message)) throw error;
    await context.redshift.query(ledgerLookupSql(target, ""));
  }
}

async function createSchema(context: LoadContext, schema: string): Promise<void> {
  try {
    await context.redshift.query(`CREATE SCHEMA IF NOT EXISTS ${quoteRedshift(schema)}`);
  } catch (error) {
    if (!(error instanceof RedshiftStatementError) || !/permission denied|not authorized|must be/i.test(error.message)) throw error;
    throw new TargetSchemaMissingError(
      `target schema ${schema} does not exist in database ${context.pipeline.target.database}, and the sync's database user may not create it. ` +
        `An administrator runs what \`mrsync grants -p ${context.pipeline.name}\` prints (CREATE SCHEMA IF NOT EXISTS ${quoteRedshift(schema)}; GRANT USAGE, CREATE ON SCHEMA …), then re-run`,
    );
  }
}

/** Schemas known to have no shared ledger (none is made any more, so the answer holds for the process's life). */
const noLegacyLedger = new Set<string>();

/** Forgets what was learnt about shared ledgers (tests that make one after this process looked). */
export function forgetLegacyLedgers(): void {
  noLegacyLedger.clear();
}

async function legacyLedgerExists(context: LoadContext, schema: string): Promise<boolean> {
  const key = `${context.pipeline.target.database}\n${schema}`;
  if (noLegacyLedger.has(key)) return false;
  const { rows } = await context.redshift.query(
    `SELECT 1 FROM information_schema.tables WHERE table_schema = ${sqlString(schema)} AND table_name = ${sqlString(LEGACY_LEDGER_TABLE)}`,
  );
  if (rows.length === 0) noLegacyLedger.add(key);
  return rows.length > 0;
}

/** The rows a load inserted if a ledger holds it (it was applied), else undefined. */
export async function appliedRows(context: LoadContext, loadId: string): Promise<number | undefined> {
  const target = targetOf(context);
  const own = await context.redshift.query(ledgerLookupSql(target, loadId));
  if (own.rows.length > 0) return Number(own.rows[0]?.[0] ?? 0);
  if (!(await legacyLedgerExists(context, target.schema))) return undefined;
  const legacy = await context.redshift.query(legacyLedgerLookupSql(target.schema, loadId));
  return legacy.rows.length > 0 ? Number(legacy.rows[0]?.[0] ?? 0) : undefined;
}
