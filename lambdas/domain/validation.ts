/**
 * Pure: what validating a run means. The run's window (start cursor, ceiling] is counted in MySQL and in Redshift
 * with the same predicate; the decision rules below tell a lost or duplicated row from the benign differences a live
 * source causes (a row updated after the ceiling leaves MySQL's window but stays in Redshift's; a row deleted after
 * extraction likewise).
 */
import type { CdcStrategy } from "#config/schema.ts";
import type { Position } from "./cdc/types.ts";
import type { LoadMode } from "./load-plan.ts";
import { quoteRedshift } from "./redshift-ddl.ts";
import { sqlString } from "./load-plan.ts";

export type Dialect = "mysql" | "redshift";

export type WindowColumns = { timestamp: string | undefined; id: string | undefined };

const ident = (dialect: Dialect, name: string) => (dialect === "mysql" ? `\`${name.replace(/`/g, "``")}\`` : quoteRedshift(name));
const idLiteral = (id: string) => {
  if (!/^-?\d+$/.test(id)) throw new Error(`cursor id ${JSON.stringify(id)} is not an integer`);
  return id;
};

/**
 * The WHERE clause selecting the run's window in one dialect (column names are that side's names). Undefined for
 * strategies whose window is the whole table (full_sync) or not expressible (custom_sql).
 */
export function windowPredicate(dialect: Dialect, strategy: CdcStrategy, columns: WindowColumns, start: Position, ceiling: Position): string | undefined {
  const ts = columns.timestamp === undefined ? undefined : ident(dialect, columns.timestamp);
  const id = columns.id === undefined ? undefined : ident(dialect, columns.id);
  const parts: string[] = [];
  switch (strategy) {
    case "hybrid":
      if (ts === undefined || id === undefined || ceiling.timestamp === null) return undefined;
      if (start.timestamp !== null) {
        const t = sqlString(start.timestamp);
        parts.push(`(${ts} > ${t} OR (${ts} = ${t} AND ${id} > ${idLiteral(start.id ?? "-1")}))`);
      }
      parts.push(`(${ts} < ${sqlString(ceiling.timestamp)} OR (${ts} = ${sqlString(ceiling.timestamp)} AND ${id} <= ${idLiteral(ceiling.id ?? "0")}))`);
      return parts.join(" AND ");
    case "timestamp_only":
      if (ts === undefined || ceiling.timestamp === null) return undefined;
      if (start.timestamp !== null) parts.push(`${ts} > ${sqlString(start.timestamp)}`);
      parts.push(`${ts} <= ${sqlString(ceiling.timestamp)}`);
      return parts.join(" AND ");
    case "id_only":
      if (id === undefined || ceiling.id === null) return undefined;
      if (start.id !== null) parts.push(`${id} > ${idLiteral(start.id)}`);
      parts.push(`${id} <= ${idLiteral(ceiling.id)}`);
      return parts.join(" AND ");
    case "full_sync":
    case "custom_sql":
      return undefined;
  }
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

/** The problems the counts show (empty = valid). */
export function countProblems(table: string, mode: LoadMode, counts: Counts): string[] {
  const problems: string[] = [];
  const numbers = `MySQL ${counts.mysql ?? "n/a"}, extracted ${counts.extracted}, Redshift ${counts.redshift}`;
  if (counts.duplicateKeys > 0) problems.push(`${table}: ${counts.duplicateKeys} primary key value(s) appear more than once in Redshift (${numbers})`);
  if (mode === "replace") {
    if (counts.redshift !== counts.extracted) problems.push(`${table}: Redshift holds ${counts.redshift} rows after the replace, the run extracted ${counts.extracted} (${numbers})`);
    return problems;
  }
  if (counts.mysql === undefined) return problems;
  if (counts.redshift < counts.mysql) problems.push(`${table}: ${counts.mysql - counts.redshift} row(s) of the run's window are in MySQL but not in Redshift (${numbers})`);
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
