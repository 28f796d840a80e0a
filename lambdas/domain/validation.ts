/**
 * Pure: what validating a run means. The run's window (start cursor, ceiling] is counted in MySQL and in Redshift
 * with the same predicate; the decision rules below tell a lost or duplicated row from the benign differences a live
 * source causes (a row updated after the ceiling leaves MySQL's window but stays in Redshift's; a row deleted after
 * extraction likewise).
 */
import type { CdcStrategy } from "#config/schema.ts";
import { orderSafeInRedshift, tupleBound, type SqlFragment } from "./cdc/keyset.ts";
import { WINDOW_RULES } from "./cdc/windows.ts";
import type { Bound, CountWindow, WindowBounds, WindowKeys } from "./cdc/types.ts";
import type { LoadMode } from "./load-plan.ts";
import { quoteRedshift } from "./redshift-ddl.ts";

export type Dialect = "mysql" | "redshift";

const ident = (dialect: Dialect, name: string) => (dialect === "mysql" ? `\`${name.replace(/`/g, "``")}\`` : quoteRedshift(name));

export type { CountWindow, WindowKeys } from "./cdc/types.ts";

/** The window's tuple bounds, exactly as the strategy's chunk queries draw them (the strategy's window rule). */
const boundsOf = (strategy: CdcStrategy, keys: WindowKeys, window: CountWindow): WindowBounds | undefined => WINDOW_RULES[strategy].bounds(keys, window);

const joined = (parts: SqlFragment[]): SqlFragment => ({ sql: parts.map((p) => p.sql).join(" AND "), params: parts.flatMap((p) => p.params) });

/** The window in MySQL, exactly as the chunk queries read it (undefined: not countable for this strategy). */
export function sourceWindow(strategy: CdcStrategy, keys: WindowKeys, window: CountWindow): SqlFragment | undefined {
  const bounds = boundsOf(strategy, keys, window);
  if (bounds === undefined) return undefined;
  const parts = [bounds.lower, bounds.upper].filter((b): b is Bound => b !== undefined).map((b) => tupleBound("mysql", b.bound, bounds.order, b.values));
  return joined(parts);
}

/**
 * The window as both sides can count it. Redshift orders strings and bytes unlike MySQL (collations, trailing spaces),
 * so where the window's order has such a column, both sides count a wider window instead: the lower bound relaxed to
 * the order-safe leading columns, inclusive (rows there were loaded by earlier windows); MySQL keeps its exact upper
 * bound (rows past the ceiling were never loaded), Redshift the relaxed one. `exact` says which of the two it is.
 */
export function comparableWindow(
  strategy: CdcStrategy,
  keys: WindowKeys,
  window: CountWindow,
): { mysql: SqlFragment; redshift: string | undefined; exact: boolean } | undefined {
  // full_sync's loads replace (compared with the rows extracted) or append every run's copy (no window to compare).
  if (!WINDOW_RULES[strategy].compared) return undefined;
  const bounds = boundsOf(strategy, keys, window);
  if (bounds === undefined) return undefined;
  const safe = bounds.order.findIndex((c) => !orderSafeInRedshift(c));
  const exact = safe < 0;
  const redshiftParts: string[] = [];
  const mysqlParts: SqlFragment[] = [];
  for (const bound of [bounds.lower, bounds.upper]) {
    if (bound === undefined) continue;
    const prefix = exact ? bounds.order : bounds.order.slice(0, safe);
    const values = bound.values.slice(0, prefix.length);
    const relaxed: Bound["bound"] = exact || values.length === bound.values.length ? bound.bound : bound.bound === "upTo" ? "upTo" : "from";
    if (values.length > 0) redshiftParts.push(tupleBound("redshift", relaxed, prefix, values).sql);
    if (bound.bound === "upTo") mysqlParts.push(tupleBound("mysql", "upTo", bounds.order, bound.values));
    else if (values.length > 0) mysqlParts.push(tupleBound("mysql", relaxed, prefix, values));
  }
  return { mysql: joined(mysqlParts), redshift: redshiftParts.length === 0 ? undefined : redshiftParts.join(" AND "), exact };
}

export type Counts = {
  /** Rows of the window in MySQL now (undefined: not countable for this strategy). */
  mysql: number | undefined;
  /** Rows the run extracted. */
  extracted: number;
  /** Rows of the window in Redshift after the load. */
  redshift: number;
  /** Keys present more than once in Redshift's window (tables with a primary key). */
  duplicateKeys: number;
};

/**
 * Rows of the window MySQL holds that Redshift does not, where the window can be read again (a merge by key, a
 * strategy that re-reads): rows committed into it after it was read — late, not lost.
 */
export function lateRowsOf(mode: LoadMode, rereads: boolean, counts: Counts): number {
  if (!rereads || mode !== "merge" || counts.mysql === undefined) return 0;
  return Math.max(0, counts.mysql - counts.redshift);
}

/** The problems the counts show (empty = valid); rows that are late (lateRowsOf) are no problem. */
export function countProblems(table: string, mode: LoadMode, counts: Counts, rereads = false): string[] {
  const problems: string[] = [];
  const numbers = `MySQL ${counts.mysql ?? "n/a"}, extracted ${counts.extracted}, Redshift ${counts.redshift}`;
  if (counts.duplicateKeys > 0) problems.push(`${table}: ${counts.duplicateKeys} primary key value(s) appear more than once in Redshift (${numbers})`);
  if (mode === "replace") {
    if (counts.redshift !== counts.extracted)
      problems.push(`${table}: Redshift holds ${counts.redshift} rows after the replace, the run extracted ${counts.extracted} (${numbers})`);
    return problems;
  }
  if (counts.mysql === undefined) return problems;
  if (counts.redshift < counts.mysql && lateRowsOf(mode, rereads, counts) === 0)
    problems.push(`${table}: ${counts.mysql - counts.redshift} row(s) of the run's window are in MySQL but not in Redshift (${numbers})`);
  if (mode === "append" && counts.redshift > counts.mysql) {
    problems.push(`${table}: Redshift has ${counts.redshift - counts.mysql} more row(s) in the run's window than MySQL — duplicates (${numbers})`);
  }
  return problems;
}

/** Columns whose share of NULLs in the loaded window exceeds the table's max_null_percentage. */
export function nullProblems(table: string, total: number, nonNull: Record<string, number>, maxPercentage: number): string[] {
  if (total === 0) return [];
  return Object.entries(nonNull)
    .map(([column, count]) => ({ column, percentage: (100 * (total - count)) / total }))
    .filter((c) => c.percentage > maxPercentage)
    .map((c) => `${table}: column ${c.column} is ${c.percentage.toFixed(2)}% NULL in the loaded rows (max_null_percentage: ${maxPercentage})`);
}

/** A column taking part in the content checksum: its name on that side, and whether it is a timestamp. */
export type ChecksumColumn = { name: string; timestamp: boolean };

/**
 * SUM over the window of the first 32 bits of MD5("v1|v2|…") for the key and cursor columns, written so MySQL and
 * Redshift render every value to the same text (timestamps to the microsecond, numbers as their digits).
 */
export function checksumSql(dialect: Dialect, columns: readonly ChecksumColumn[]): string {
  const parts = columns.map((c) => {
    const name = ident(dialect, c.name);
    if (dialect === "mysql") return `COALESCE(${c.timestamp ? `DATE_FORMAT(${name}, '%Y-%m-%d %H:%i:%s.%f')` : `CAST(${name} AS CHAR)`}, '')`;
    return `COALESCE(${c.timestamp ? `TO_CHAR(${name}, 'YYYY-MM-DD HH24:MI:SS.US')` : `CAST(${name} AS VARCHAR)`}, '')`;
  });
  if (dialect === "mysql") return `SUM(CAST(CONV(SUBSTRING(MD5(CONCAT(${parts.join(", '|', ")})), 1, 8), 16, 10) AS UNSIGNED))`;
  return `SUM(STRTOL(SUBSTRING(MD5(${parts.join(" || '|' || ")}), 1, 8), 16))`;
}
