/**
 * Pure: one canonical text per row, rendered identically by MySQL and by Redshift (DESIGN.md §12, reconciliation),
 * and the hashes reconciliation compares. What lands in Redshift is what the extractor read, so each column's MySQL
 * rendering follows the extractor's reading of it (table-schema.ts, cdc/types.ts selectExpression):
 *
 * - integers, DECIMAL (unsigned BIGINT as DECIMAL(20,0)), YEAR: their digits; BIT(n) as its unsigned value;
 * - booleans (BIT(1), TINYINT(1) as BOOLEAN): 1 or 0;
 * - DATE / DATETIME / TIMESTAMP: `YYYY-MM-DD[ HH:MM:SS.ffffff]`, zero dates as NULL (zero_dates: null is the only
 *   policy that loads them);
 * - text (CHAR/VARCHAR/TEXT/JSON/ENUM/SET/TIME/DECIMAL past 38 digits): the text, `\` and `|` escaped;
 * - binary and geometry (WKB): lower-case hex;
 * - NULL as `N`, any value as `v` + its text, so NULL and the empty string differ; columns joined by `|`.
 *
 * FLOAT/DOUBLE (approximate: the two engines print them differently) and SUPER (re-serialised JSON) are not
 * rendered; reconciliation lists them as not compared and still compares the rest of their rows.
 */
import type { TableColumn } from "#domain/table-schema.ts";

export type Dialect = "mysql" | "redshift";

/** delete_policy soft: the Redshift column a row gone from MySQL is marked with (reconcile compares only unmarked rows). */
export const SOFT_DELETE_COLUMN = "_mrsync_deleted_at";

const quoteMysql = (name: string) => `\`${name.replace(/`/g, "``")}\``;
const quoteRedshift = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Why a column takes no part in the row text, or undefined when it does. */
export function notComparable(column: TableColumn): string | undefined {
  if (column.value.kind === "float" || column.value.kind === "double") return "approximate (FLOAT/DOUBLE print differently in MySQL and Redshift)";
  if (column.redshiftType === "SUPER") return "SUPER (Redshift re-serialises the JSON)";
  return undefined;
}

const isBit = (column: TableColumn) => column.sourceType.toLowerCase().startsWith("bit");

/** The column's value as canonical text in MySQL (NULL where the value is NULL or lands as NULL). */
function mysqlText(column: TableColumn): string {
  const name = quoteMysql(column.source);
  const zeroDate = `(YEAR(${name}) = 0 OR MONTH(${name}) = 0 OR DAY(${name}) = 0)`;
  switch (column.value.kind) {
    case "boolean":
      // NULL stays NULL (an IF or ELSE would turn it into 0).
      return isBit(column) ? `CAST(${name} + 0 AS CHAR)` : `CASE WHEN ${name} <> 0 THEN '1' WHEN ${name} = 0 THEN '0' END`;
    case "int32":
    case "int64":
    case "decimal":
      return isBit(column) ? `CAST(${name} + 0 AS CHAR)` : `CAST(${name} AS CHAR)`;
    case "date":
      return `IF(${zeroDate}, NULL, DATE_FORMAT(${name}, '%Y-%m-%d'))`;
    case "timestamp":
      return `IF(${zeroDate}, NULL, DATE_FORMAT(${name}, '%Y-%m-%d %H:%i:%s.%f'))`;
    case "string":
      // As UTF-8 bytes (what Redshift holds, whatever the column's charset), escaped as bytes: binary strings carry
      // no collation to clash with the column's.
      return `REPLACE(REPLACE(CAST(CONVERT(${name} USING utf8mb4) AS BINARY), X'5C', X'5C5C'), X'7C', X'5C7C')`;
    case "binary":
      return column.value.wkb === true ? `LOWER(HEX(ST_AsBinary(${name})))` : `LOWER(HEX(${name}))`;
    case "float":
    case "double":
      throw new Error(`${column.source}: not comparable`);
  }
}

/** The column's value as canonical text in Redshift. */
function redshiftText(column: TableColumn): string {
  const name = quoteRedshift(column.name);
  switch (column.value.kind) {
    case "boolean":
      return `CASE WHEN ${name} THEN '1' WHEN NOT ${name} THEN '0' END`;
    case "int32":
    case "int64":
    case "decimal":
      return `CAST(${name} AS VARCHAR)`;
    case "date":
      return `TO_CHAR(${name}, 'YYYY-MM-DD')`;
    case "timestamp":
      return `TO_CHAR(${name}, 'YYYY-MM-DD HH24:MI:SS.US')`;
    case "string":
      return `REPLACE(REPLACE(${name}, CHR(92), CHR(92) || CHR(92)), '|', CHR(92) || '|')`;
    case "binary":
      return `LOWER(TO_HEX(${name}))`;
    case "float":
    case "double":
      throw new Error(`${column.name}: not comparable`);
  }
}

/** `v<text>` or `N` for one column. */
function piece(dialect: Dialect, column: TableColumn): string {
  return dialect === "mysql" ? `COALESCE(CONCAT('v', ${mysqlText(column)}), 'N')` : `COALESCE('v' || ${redshiftText(column)}, 'N')`;
}

/** The canonical text of a row over `columns` (the comparable ones, in target order). */
export function rowText(dialect: Dialect, columns: readonly TableColumn[]): string {
  const pieces = columns.map((c) => piece(dialect, c));
  if (pieces.length === 0) return "''";
  return dialect === "mysql" ? `CONCAT_WS('|', ${pieces.join(", ")})` : pieces.join(" || '|' || ");
}

/** A 32-bit unsigned integer from the first 8 hex digits of MD5(text). */
export function hash32(dialect: Dialect, text: string): string {
  return dialect === "mysql" ? `CAST(CONV(SUBSTRING(MD5(${text}), 1, 8), 16, 10) AS UNSIGNED)` : `STRTOL(SUBSTRING(MD5(${text}), 1, 8), 16)`;
}

/**
 * A 60-bit unsigned integer from the first 15 hex digits of MD5(text): one MD5 per row, a BIGINT in both engines
 * (Redshift's STRTOL returns BIGINT), summed as DECIMAL so a bucket's sum cannot overflow.
 */
export function hash60(dialect: Dialect, text: string): string {
  return dialect === "mysql" ? `CAST(CONV(SUBSTRING(MD5(${text}), 1, 15), 16, 10) AS UNSIGNED)` : `STRTOL(SUBSTRING(MD5(${text}), 1, 15), 16)`;
}

/** The bucket of a row: its key's hash modulo `buckets` — order-free, so identical in both engines whatever the collation. */
export function bucketOf(dialect: Dialect, key: readonly TableColumn[], buckets: number): string {
  return `MOD(${hash32(dialect, rowText(dialect, key))}, ${buckets})`;
}
