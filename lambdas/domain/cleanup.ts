/**
 * Pure: the temp-table pattern's decision (a MySQL staging table emptied after each sync, like the seed's hourly
 * parcel sync). The rows a run synced — every row up to its ceiling — may be deleted from MySQL only when MySQL's
 * count of them, the run's rows processed and Redshift's count of the same window are one number.
 */
import type { CdcStrategy } from "#config/schema.ts";
import type { Position } from "./cdc/types.ts";
import { sqlString } from "./load-plan.ts";
import { windowPredicate, type Dialect, type WindowColumns } from "./validation.ts";

export const CLEANUP_STRATEGIES: readonly CdcStrategy[] = ["id_only", "hybrid", "timestamp_only"];

/** Rows from `first` (inclusive) up to the ceiling: the window of the rows a cleanup deletes, in one dialect. */
export function cleanupWindow(dialect: Dialect, strategy: CdcStrategy, columns: WindowColumns, first: Position, ceiling: Position): string | undefined {
  const upTo = windowPredicate(dialect, strategy, columns, { timestamp: null, id: null }, ceiling);
  if (upTo === undefined) return undefined;
  const quote = (name: string) => (dialect === "mysql" ? `\`${name.replace(/`/g, "``")}\`` : `"${name.replace(/"/g, '""')}"`);
  const ts = columns.timestamp === undefined ? undefined : quote(columns.timestamp);
  const id = columns.id === undefined ? undefined : quote(columns.id);
  const digits = (value: string | null) => {
    if (value === null || !/^-?\d+$/.test(value)) throw new Error(`cursor id ${JSON.stringify(value)} is not an integer`);
    return value;
  };
  let from: string | undefined;
  if (strategy === "id_only" && id !== undefined && first.id !== null) from = `${id} >= ${digits(first.id)}`;
  if (strategy === "timestamp_only" && ts !== undefined && first.timestamp !== null) from = `${ts} >= ${sqlString(first.timestamp)}`;
  if (strategy === "hybrid" && ts !== undefined && id !== undefined && first.timestamp !== null) {
    from = `(${ts} > ${sqlString(first.timestamp)} OR (${ts} = ${sqlString(first.timestamp)} AND ${id} >= ${digits(first.id)}))`;
  }
  return from === undefined ? upTo : `${from} AND ${upTo}`;
}

export type CleanupCounts = { mysql: number; processed: number; redshift: number };

/** Why the rows must stay (empty: all three counts agree). */
export function cleanupProblems(table: string, counts: CleanupCounts): string[] {
  if (counts.mysql === counts.processed && counts.processed === counts.redshift) return [];
  return [
    `${table}: not cleaned — MySQL holds ${counts.mysql} row(s) up to the run's ceiling, the run processed ${counts.processed}, Redshift holds ${counts.redshift} of them; ` +
      "nothing was deleted (re-run the sync, then clean; or investigate with mrsync watermark get)",
  ];
}
