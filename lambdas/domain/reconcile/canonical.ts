/**
 * Pure: one canonical text per row, rendered identically by MySQL and by Redshift (docs/design.md §12, reconciliation),
 * and the hashes reconciliation compares. What lands in Redshift is what the extractor read, so each column's MySQL
 * rendering follows the extractor's reading of it (table-schema.ts, cdc/types.ts selectExpression):
 *
 * - integers, DECIMAL (unsigned BIGINT as DECIMAL(20,0)), YEAR: their digits; BIT(n) as its unsigned value;
 * - booleans (BIT(1), TINYINT(1) as BOOLEAN): 1 or 0;
 * - DATE / DATETIME / TIMESTAMP: `YYYY-MM-DD[ HH:MM:SS.ffffff]`, zero dates (year, month or day 0) as NULL, as the
 *   extractor lands them;
 * - text (CHAR/VARCHAR/TEXT/JSON/ENUM/SET/TIME/DECIMAL past 38 digits): the text as UTF-8;
 * - binary and geometry (WKB): lower-case hex.
 *
 * The row's text is its values joined by `|`, NULL as `N` (no value of these kinds reads `N`), then the length in
 * characters of every text value (`N` for NULL, so NULL and the empty string differ): with the lengths, a `|` inside
 * a text cannot shift one value into the next, so two different rows never share a text. The rendering is chosen
 * for cost: MySQL's reconcile pass does one expression per column and one hash per row.
 *
 * A text or binary value that can be longer than DIGEST_OVER_BYTES stands in the row text as the MD5 of its text (32
 * hex digits) — its length still follows — so a row's text stays far under Redshift's 65,535-byte string limit
 * whatever its columns hold (a `||` longer than that is an error there, not a truncation). A binary value's hex would
 * pass that limit past 32,767 bytes, so it is digested in slices: the MD5 of the MD5s of the hex of each 32,000 bytes.
 *
 * The row hash is CRC-32C where the source computes it (MariaDB ≥ 10.8: CRC32C; Redshift's CRC32 is CRC-32C), else
 * the first 60 bits of MD5 (MySQL 8): RowHash.
 *
 * FLOAT/DOUBLE (approximate: the two engines print them differently) and SUPER (re-serialised JSON) are not
 * rendered; reconciliation lists them as not compared and still compares the rest of their rows.
 */
import { createHash } from "node:crypto";
import type { TableColumn } from "#domain/table-schema.ts";

export type Dialect = "mysql" | "redshift";

/** The row hash both engines compute: CRC-32C (fast; MariaDB ≥ 10.8) or 60 bits of MD5 (every MySQL). */
export type RowHash = "crc32c" | "md5";

/** Asked of the source once: does it compute CRC-32C? (MariaDB ≥ 10.8 does; MySQL 8 does not.) */
export const CRC32C_PROBE = "SELECT CRC32C('')";

/** delete_policy soft: the Redshift column a row gone from MySQL is marked with (reconcile compares only unmarked rows). */
export const SOFT_DELETE_COLUMN = "_mrsync_deleted_at";

const quoteMysql = (name: string) => `\`${name.replace(/`/g, "``")}\``;
const quoteRedshift = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A text or binary value whose rendering can pass this many bytes enters the row text as its MD5. */
export const DIGEST_OVER_BYTES = 64;
/** Bytes of a binary value hexed at once (64,000 hex digits: under Redshift's 65,535-byte string limit). */
export const BINARY_SLICE_BYTES = 32_000;
/** Redshift's longest VARBYTE: no binary value holds more. */
const REDSHIFT_MAX_VARBYTE_BYTES = 1_024_000;
const slicesOf = (maxBytes: number) => Math.max(1, Math.ceil(Math.min(maxBytes, REDSHIFT_MAX_VARBYTE_BYTES) / BINARY_SLICE_BYTES));

/** A binary value's digest: MD5 over the MD5s of the hex of each slice (NULL stays NULL: each slice is NULL). */
function binaryDigest(dialect: Dialect, column: TableColumn, maxBytes: number): string {
  const source =
    dialect === "mysql"
      ? column.value.kind === "binary" && column.value.wkb === true
        ? `ST_AsBinary(${quoteMysql(column.source)})`
        : quoteMysql(column.source)
      : quoteRedshift(column.name);
  const slices = Array.from({ length: slicesOf(maxBytes) }, (_, k) => {
    const slice = `SUBSTRING(${source}, ${String(1 + k * BINARY_SLICE_BYTES)}, ${String(BINARY_SLICE_BYTES)})`;
    return `MD5(${dialect === "mysql" ? `LOWER(HEX(${slice}))` : `LOWER(TO_HEX(${slice}))`})`;
  });
  return dialect === "mysql" ? `MD5(CONCAT(${slices.join(", ")}))` : `MD5(${slices.join(" || ")})`;
}

/** Why a column takes no part in the row text, or undefined when it does. */
export function notComparable(column: TableColumn): string | undefined {
  if (column.value.kind === "float" || column.value.kind === "double") return "approximate (FLOAT/DOUBLE print differently in MySQL and Redshift)";
  if (column.redshiftType === "SUPER") return "SUPER (Redshift re-serialises the JSON)";
  return undefined;
}

/** Whether a column enters the row text as the MD5 of its value (rendered text can pass DIGEST_OVER_BYTES). */
function digested(column: TableColumn): boolean {
  if (column.value.kind === "string") return column.value.maxBytes > DIGEST_OVER_BYTES;
  if (column.value.kind === "binary") return column.value.maxBytes * 2 > DIGEST_OVER_BYTES;
  return false;
}

const isBit = (column: TableColumn) => column.sourceType.toLowerCase().startsWith("bit");
/** DATETIME(6)/TIMESTAMP(6): MySQL's own text of the value is already the canonical one. */
const hasMicros = (column: TableColumn) => /\(6\)$/.test(column.sourceType.trim());
const isText = (column: TableColumn) => column.value.kind === "string";

/** The column's value as canonical text in MySQL: NULL where the value is NULL or lands as NULL. */
function mysqlValue(column: TableColumn): string {
  const name = quoteMysql(column.source);
  switch (column.value.kind) {
    case "boolean":
      // `<> 0` keeps NULL NULL (an IF or ELSE would turn it into 0).
      return isBit(column) ? `(${name} + 0)` : `(${name} <> 0)`;
    case "int32":
    case "int64":
    case "decimal":
      return isBit(column) ? `(${name} + 0)` : name;
    case "date":
    case "timestamp": {
      // TO_DAYS is NULL for a date with month or day 0 and under 366 for year 0: one call finds every zero date.
      const text = column.value.kind === "timestamp" && !hasMicros(column) ? `DATE_FORMAT(${name}, '%Y-%m-%d %H:%i:%s.%f')` : name;
      return `IF(TO_DAYS(${name}) > 365, ${text}, NULL)`;
    }
    case "string":
      // As UTF-8 whatever the column's charset, in one collation (CONCAT_WS refuses a mix of collations).
      return `CONVERT(${name} USING utf8mb4)`;
    case "binary":
      return column.value.wkb === true ? `LOWER(HEX(ST_AsBinary(${name})))` : `LOWER(HEX(${name}))`;
    case "float":
    case "double":
      throw new Error(`${column.source}: not comparable`);
  }
}

/** The column's value as canonical text in Redshift. */
function redshiftValue(column: TableColumn): string {
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
      return name;
    case "binary":
      return `LOWER(TO_HEX(${name}))`;
    case "float":
    case "double":
      throw new Error(`${column.name}: not comparable`);
  }
}

/** One value of a key column as canonical text (key columns are NOT NULL). */
export const valueText = (dialect: Dialect, column: TableColumn): string => (dialect === "mysql" ? mysqlValue(column) : redshiftValue(column));

/** A value's piece of the row text: NULL as `N`, or as empty for text (its length says NULL); wide values as MD5. */
function piece(dialect: Dialect, column: TableColumn): string {
  // MD5 of the UTF-8 text in both engines, lower-case hex in both; NULL stays NULL.
  const value = !digested(column)
    ? valueText(dialect, column)
    : column.value.kind === "binary"
      ? binaryDigest(dialect, column, column.value.maxBytes)
      : `MD5(${valueText(dialect, column)})`;
  const ifNull = isText(column) ? "''" : "'N'";
  if (dialect === "redshift") return `COALESCE(${value}, ${ifNull})`;
  // A NOT NULL column's value is never NULL in MySQL, except a zero date; Redshift's side is always wrapped, so a
  // NULL there still differs.
  return column.nullable || column.value.kind === "date" || column.value.kind === "timestamp" ? `IFNULL(${value}, ${ifNull})` : value;
}

function lengthPiece(dialect: Dialect, column: TableColumn): string {
  if (dialect === "redshift") return `COALESCE(CAST(CHAR_LENGTH(${quoteRedshift(column.name)}) AS VARCHAR), 'N')`;
  const length = `CHAR_LENGTH(${quoteMysql(column.source)})`;
  return column.nullable ? `IFNULL(${length}, 'N')` : length;
}

/** The canonical text of a row over `columns` (the comparable ones, in target order). */
export function rowText(dialect: Dialect, columns: readonly TableColumn[]): string {
  const pieces = [...columns.map((c) => piece(dialect, c)), ...columns.filter(isText).map((c) => lengthPiece(dialect, c))];
  if (pieces.length === 0) return "''";
  return dialect === "mysql" ? `CONCAT_WS('|', ${pieces.join(", ")})` : pieces.join(" || '|' || ");
}

const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex");

/** Characters as CHAR_LENGTH counts them in both engines: code points (a surrogate pair is one). */
const codePoints = (text: string) => text.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, "_").length;

/**
 * The row text JS renders from values as MySQL returns `valueText` of each (NOT NULL: key columns), equal to
 * `rowText` of the same columns in either engine.
 */
export function rowTextOf(columns: readonly TableColumn[], values: readonly string[]): string {
  const lengths = columns.flatMap((c, i) => (isText(c) ? [String(codePoints(values[i] ?? ""))] : []));
  const pieces = values.map((value, i) => {
    const column = columns[i];
    if (column === undefined || !digested(column)) return value;
    if (column.value.kind !== "binary") return md5(value);
    // The hex of each slice: twice its bytes.
    const hexSlice = BINARY_SLICE_BYTES * 2;
    return md5(Array.from({ length: slicesOf(column.value.maxBytes) }, (_, k) => md5(value.slice(k * hexSlice, (k + 1) * hexSlice))).join(""));
  });
  return [...pieces, ...lengths].join("|");
}

/** An unsigned 32-bit hash of `text`: CRC-32C, or the first 8 hex digits of MD5. */
export function hash32(dialect: Dialect, hash: RowHash, text: string): string {
  if (hash === "crc32c") return dialect === "mysql" ? `CRC32C(${text})` : `STRTOL(CRC32(${text}), 16)`;
  return dialect === "mysql" ? `CAST(CONV(SUBSTRING(MD5(${text}), 1, 8), 16, 10) AS UNSIGNED)` : `STRTOL(SUBSTRING(MD5(${text}), 1, 8), 16)`;
}

/**
 * The row hash summed per bucket: CRC-32C (32 bits), or 60 bits of MD5 (a BIGINT in both engines: Redshift's
 * STRTOL returns BIGINT).
 */
export function rowHash(dialect: Dialect, hash: RowHash, text: string): string {
  if (hash === "crc32c") return hash32(dialect, hash, text);
  return dialect === "mysql" ? `CAST(CONV(SUBSTRING(MD5(${text}), 1, 15), 16, 10) AS UNSIGNED)` : `STRTOL(SUBSTRING(MD5(${text}), 1, 15), 16)`;
}

/** A bucket's sum of row hashes as text; a 60-bit hash is summed as DECIMAL in Redshift, where SUM(BIGINT) is a BIGINT. */
export function hashSum(dialect: Dialect, hash: RowHash, text: string): string {
  const row = rowHash(dialect, hash, text);
  if (dialect === "mysql") return `CAST(SUM(${row}) AS CHAR)`;
  return hash === "crc32c" ? `CAST(SUM(${row}) AS VARCHAR)` : `CAST(SUM(CAST(${row} AS DECIMAL(38,0))) AS VARCHAR)`;
}

/** The smallest prime ≥ n: a bucket count no run of keys with a common stride fills unevenly. */
export function primeAtLeast(n: number): number {
  for (let candidate = Math.max(2, Math.ceil(n)); ; candidate++) {
    let prime = true;
    for (let d = 2; d * d <= candidate; d++) {
      if (candidate % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) return candidate;
  }
}

/**
 * The bucket of a row, order-free so identical in both engines whatever the collation: an integer key modulo the
 * (prime) bucket count, any other key's hash modulo it. MOD keeps the dividend's sign in both engines.
 */
export function bucketOf(dialect: Dialect, hash: RowHash, key: readonly TableColumn[], buckets: number): string {
  const [only] = key;
  if (key.length === 1 && only !== undefined && (only.value.kind === "int32" || only.value.kind === "int64") && !isBit(only)) {
    return `MOD(${dialect === "mysql" ? quoteMysql(only.source) : quoteRedshift(only.name)}, ${buckets})`;
  }
  return `MOD(${hash32(dialect, hash, rowText(dialect, key))}, ${buckets})`;
}
