/**
 * Pure: the temp-table pattern's decision (a MySQL staging table emptied after each sync, like the seed's hourly
 * parcel sync). The rows a run synced — every row up to its ceiling — may be deleted from MySQL only when MySQL's
 * count of them, the run's rows processed and Redshift's count of the same window are one number.
 */
import type { CdcStrategy } from "#config/schema.ts";
import type { SqlFragment } from "./cdc/keyset.ts";
import type { Position } from "./cdc/types.ts";
import { comparableWindow, sourceWindow, type WindowKeys } from "./validation.ts";

export const CLEANUP_STRATEGIES: readonly CdcStrategy[] = ["id_only", "hybrid", "timestamp_only"];

/** The rows a cleanup deletes: up to the ceiling in MySQL; from the first of them (inclusive) in Redshift. */
export function cleanupWindows(
  strategy: CdcStrategy,
  keys: WindowKeys,
  first: Position | null,
  ceiling: Position,
): { mysql: SqlFragment; redshift: string | undefined } | undefined {
  const mysql = sourceWindow(strategy, keys, { start: null, end: ceiling });
  const redshift = comparableWindow(strategy, keys, { start: first, end: ceiling, inclusiveStart: true });
  if (mysql === undefined || redshift === undefined || !redshift.exact) return undefined;
  return { mysql, redshift: redshift.redshift };
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
