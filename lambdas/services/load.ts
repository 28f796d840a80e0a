/**
 * What the load steps (submit-load.ts, complete-load.ts), validation and reconcile share about a table's target:
 * the context they run in, how a load applies its rows, and the target table's columns as Redshift has them.
 */
import type { RedshiftData } from "#adapters/redshift-data.ts";
import { sqlString, type ExistingColumn, type LoadMode } from "#domain/load-plan.ts";
import type { TableContext } from "./sync-context.ts";

export type LoadContext = TableContext & { redshift: RedshiftData };

/** How a load applies its rows: full_sync replaces or appends; a table with a key merges; one without appends. */
export function loadMode(context: LoadContext, hasKey: boolean): LoadMode {
  if (context.table.cdc_strategy === "full_sync") return context.table.full_sync_mode === "append" ? "append" : "replace";
  return hasKey ? "merge" : "append";
}

export async function existingColumns(context: Pick<LoadContext, "redshift" | "pipeline" | "table">): Promise<ExistingColumn[]> {
  const { rows } = await context.redshift.query(
    // Redshift's own catalogue: information_schema (of the Postgres 8 era) does not know VARBYTE or SUPER.
    `SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale FROM svv_columns
      WHERE table_schema = ${sqlString(context.pipeline.target.schema)} AND table_name = ${sqlString(context.table.targetName)} ORDER BY ordinal_position`,
  );
  const number = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  return rows.map(([name, dataType, maxLength, precision, scale]) => ({
    name: String(name),
    dataType: String(dataType),
    maxLength: number(maxLength),
    precision: number(precision),
    scale: number(scale),
  }));
}
