/**
 * `COPY <table> FROM 's3://…' [MANIFEST] IAM_ROLE '…' FORMAT AS PARQUET` with Redshift's rules, inside the
 * statement's transaction: only the options Redshift accepts for Parquet; columns mapped by position and the
 * counts must match; Parquet types must be compatible with the column types; a VARCHAR value longer (in bytes, as
 * Redshift counts) than its column, or any bad value, fails the whole COPY. Files are read from the local S3 and
 * decoded by DuckDB (an independent Parquet reader); rows are inserted in batches.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { S3Store } from "#adapters/s3.ts";
import type { SqlSession, SqlStatement, StatementHook, StatementResult } from "./postgres.ts";

/** The parameters Redshift accepts for COPY from a columnar format (AWS docs, "COPY from columnar data formats"). */
const PARQUET_OPTIONS = ["IAM_ROLE", "CREDENTIALS", "STATUPDATE", "MANIFEST", "ACCEPTINVCHARS", "FILLRECORD", "EXPLICIT_IDS", "SERIALIZETOJSON"];

export class CopyError extends Error {
  override readonly name = "CopyError";
}

/** `table` as given (unquoted, "schema.table" or "table"); `tableSql` quoted for SQL. */
export type CopyCommand = {
  table: string;
  schema: string | undefined;
  tableSql: string;
  columns: string[] | undefined;
  bucket: string;
  key: string;
  manifest: boolean;
};

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
const COPY = new RegExp(String.raw`^\s*COPY\s+(${IDENT}(?:\.${IDENT})?)\s*(\(([^)]*)\))?\s+FROM\s+'s3://([^/']+)/((?:[^']|'')*)'\s*([\s\S]*?)\s*;?\s*$`, "i");

const unquote = (name: string) => (name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase());
const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Parses a COPY from S3; undefined for any other statement. Refuses options Redshift refuses for Parquet. */
export function parseCopy(sql: string): CopyCommand | undefined {
  const match = COPY.exec(sql);
  if (match === null) return undefined;
  const [, table = "", , columnList, bucket = "", key = "", rest = ""] = match;
  // Option values ('…') out of the way, then each word is an option name or a value keyword.
  const words = rest
    .replace(/'(?:[^']|'')*'/g, " ")
    .split(/\s+/)
    .filter((w) => w !== "")
    .map((w) => w.toUpperCase());
  if (!words.includes("PARQUET")) throw new CopyError("the local Redshift emulates COPY only FORMAT AS PARQUET");
  const valueWords = new Set(["FORMAT", "AS", "PARQUET", "ON", "OFF", "TRUE", "FALSE", "DEFAULT"]);
  const unknown = words.filter((w) => !valueWords.has(w) && !PARQUET_OPTIONS.includes(w) && !/^\d+$/.test(w));
  if (unknown.length > 0) {
    throw new CopyError(
      `COPY from this file format only accepts IAM_ROLE, CREDENTIALS, STATUPDATE, MANIFEST, ACCEPTINVCHARS, FILLRECORD, EXPLICIT_IDS and SERIALIZETOJSON parameters (got ${unknown.join(", ")})`,
    );
  }
  if (!words.includes("IAM_ROLE") && !words.includes("CREDENTIALS")) throw new CopyError("COPY needs IAM_ROLE or CREDENTIALS");
  const parts = table.split(/\.(?=(?:[^"]*"[^"]*")*[^"]*$)/).map(unquote);
  return {
    table: parts.at(-1) ?? "",
    schema: parts.length > 1 ? parts[0] : undefined,
    tableSql: parts.map(quote).join("."),
    columns: columnList?.split(",").map((c) => unquote(c.trim())),
    bucket,
    key: key.replace(/''/g, "'"),
    manifest: words.includes("MANIFEST"),
  };
}

type TargetColumn = { name: string; type: string; maxBytes: number | undefined; precision: number | undefined; scale: number | undefined };
export type FileColumn = {
  name: string;
  type: string;
  convertedType: string | null;
  /** The logical type as DuckDB prints it, e.g. TimestampType(isAdjustedToUTC=0, …); null for legacy files. */
  logicalType: string | null;
  precision: number | undefined;
  scale: number | undefined;
};

/**
 * Whether a Parquet column can be loaded into a column of this Postgres (Redshift) type — Redshift's documented
 * mapping, no wider: DECIMAL stored as (FIXED_LEN_)BYTE_ARRAY (INT32/INT64-backed decimals are not in it), INT32 into
 * SMALLINT only annotated INT(16)/INT(8), a TIMESTAMP into TIMESTAMP (without time zone) only with local semantics
 * (isAdjustedToUTC=false; a legacy TIMESTAMP_* converted type alone means UTC-adjusted).
 */
export function compatible(file: FileColumn, target: TargetColumn): boolean {
  const logical = file.convertedType ?? "";
  if (logical === "DECIMAL") {
    return (
      ["FIXED_LEN_BYTE_ARRAY", "BYTE_ARRAY"].includes(file.type) &&
      target.type === "numeric" &&
      file.scale === target.scale &&
      (file.precision ?? 0) <= (target.precision ?? 0)
    );
  }
  if (logical === "UTF8" || logical === "ENUM" || logical === "JSON") return ["character varying", "character", "text", "jsonb"].includes(target.type);
  if (logical === "DATE") return target.type === "date";
  if (logical.startsWith("TIMESTAMP")) {
    if (target.type === "timestamp with time zone") return true;
    return target.type === "timestamp without time zone" && /isAdjustedToUTC=(0|false)\b/.test(file.logicalType ?? "");
  }
  switch (file.type) {
    case "BOOLEAN":
      return target.type === "boolean";
    case "INT32":
      if (target.type === "smallint") return logical === "INT_16" || logical === "INT_8";
      return ["integer", "bigint"].includes(target.type) && ["", "INT_32", "INT_16", "INT_8"].includes(logical);
    case "INT64":
      return target.type === "bigint";
    case "FLOAT":
      return ["real", "double precision"].includes(target.type);
    case "DOUBLE":
      return target.type === "double precision";
    case "BYTE_ARRAY":
      return target.type === "bytea";
    default:
      return false;
  }
}

/** The DuckDB expression rendering a Parquet column as the text Postgres parses back exactly. */
function textExpression(column: FileColumn, index: number): string {
  const ref = `"c${index}"`;
  if (column.convertedType?.startsWith("TIMESTAMP") === true) return `strftime(${ref}, '%Y-%m-%d %H:%M:%S.%f')`;
  if (column.type === "BYTE_ARRAY" && column.convertedType === null) return `hex(${ref})`;
  return `${ref}::VARCHAR`;
}

async function targetColumns(client: SqlSession, copy: CopyCommand): Promise<TargetColumn[]> {
  const result = await client.query(
    `SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale FROM information_schema.columns
      WHERE table_name = $1 AND (table_schema = $2 OR ($2 IS NULL AND table_schema = ANY (current_schemas(true)))) ORDER BY ordinal_position`,
    [copy.table, copy.schema ?? null],
  );
  if (result.rows.length === 0) throw new CopyError(`relation "${copy.schema === undefined ? "" : `${copy.schema}.`}${copy.table}" does not exist`);
  const number = (value: unknown) => (value === null || value === undefined ? undefined : Number(value));
  return result.rows.map((r) => ({
    name: String(r.column_name),
    type: String(r.data_type),
    maxBytes: number(r.character_maximum_length),
    precision: number(r.numeric_precision),
    scale: number(r.numeric_scale),
  }));
}

async function sourceFiles(s3: S3Store, copy: CopyCommand): Promise<string[]> {
  if (!copy.manifest) {
    const listed = await s3.listAll(copy.bucket, copy.key);
    if (listed.length === 0) throw new CopyError(`The specified S3 prefix '${copy.key}' does not exist`);
    return listed.map((o) => `s3://${copy.bucket}/${o.key}`);
  }
  const { value } = await s3.getJson(copy.bucket, copy.key).catch((error: unknown) => {
    throw new CopyError(`could not read manifest s3://${copy.bucket}/${copy.key}: ${(error as Error).message}`);
  });
  const entries = (value as { entries?: { url?: string; mandatory?: boolean }[] }).entries;
  if (!Array.isArray(entries)) throw new CopyError(`manifest s3://${copy.bucket}/${copy.key} has no "entries" list`);
  const files: string[] = [];
  for (const entry of entries) {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(entry.url ?? "");
    if (match === null) throw new CopyError(`manifest entry ${JSON.stringify(entry.url)} is not an s3:// URL`);
    if ((await s3.head(match[1] ?? "", match[2] ?? "")) === undefined) {
      if (entry.mandatory === true) throw new CopyError(`Manifest file entry ${entry.url ?? ""} is mandatory but was not found`);
      continue;
    }
    files.push(entry.url ?? "");
  }
  return files;
}

const INSERT_PARAMETERS = 30_000;

async function loadFile(
  client: SqlSession,
  duck: DuckDBConnection,
  s3: S3Store,
  dir: string,
  url: string,
  copy: CopyCommand,
  targets: TargetColumn[],
): Promise<number> {
  const table = copy.table;
  const [, bucket = "", key = ""] = /^s3:\/\/([^/]+)\/(.+)$/.exec(url) ?? [];
  const local = path.join(dir, `${Math.random().toString(36).slice(2)}.parquet`);
  await writeFile(local, await s3.getStream(bucket, key));
  const quoted = `'${local.replace(/'/g, "''")}'`;
  const described = await duck.runAndReadAll(
    `SELECT name, type, converted_type, logical_type, precision::INTEGER, scale::INTEGER FROM parquet_schema(${quoted}) WHERE num_children IS NULL`,
  );
  const schema = (described.getRows() as [string, string, string | null, string | null, number | null, number | null][]).map(
    ([name, type, convertedType, logicalType, precision, scale]): FileColumn => ({
      name,
      type,
      convertedType,
      logicalType,
      precision: precision ?? undefined,
      scale: scale ?? undefined,
    }),
  );
  if (schema.length !== targets.length) {
    throw new CopyError(
      `Spectrum Scan Error: file '${url}' has ${schema.length} columns but table ${table} has ${targets.length}; COPY from Parquet maps columns by position and the counts must match`,
    );
  }
  schema.forEach((column, i) => {
    const target = targets[i] as TargetColumn;
    if (!compatible(column, target)) {
      const adjusted = /isAdjustedToUTC=\w+/.exec(column.logicalType ?? "")?.[0];
      const fileType =
        column.convertedType === null
          ? column.type
          : `${column.type} (${column.convertedType}${column.precision === undefined ? "" : `(${column.precision},${column.scale ?? 0})`}${adjusted === undefined ? "" : `, ${adjusted}`})`;
      throw new CopyError(
        `Spectrum Scan Error: file '${url}' has an incompatible Parquet schema for column ${i + 1} '${target.name}': ${fileType} cannot load into ${target.type}`,
      );
    }
  });
  const renamed = schema.map((c, i) => `"${c.name.replace(/"/g, '""')}" AS "c${i}"`).join(", ");
  const select = schema.map((c, i) => textExpression(c, i)).join(", ");
  const read = await duck.runAndReadAll(`SELECT ${select} FROM (SELECT ${renamed} FROM read_parquet(${quoted}))`);
  const rows = read.getRows() as (string | null)[][];
  // Redshift sizes VARCHAR in bytes (Postgres in characters): check as Redshift does.
  targets.forEach((target, c) => {
    if (target.type !== "character varying" || target.maxBytes === undefined) return;
    const max = target.maxBytes;
    const r = rows.findIndex((row) => row[c] !== null && Buffer.byteLength(row[c] ?? "") > max);
    if (r >= 0) {
      const bytes = Buffer.byteLength(rows[r]?.[c] ?? "");
      throw new CopyError(
        `String length exceeds DDL length: column '${target.name}' (VARCHAR(${max})) got a value of ${bytes} bytes in row ${r + 1} of '${url}'`,
      );
    }
  });
  // A Parquet string lands in a SUPER column as a string scalar (COPY without SERIALIZETOJSON): only SQL that parses
  // it (JSON_PARSE) makes an object of it — so the stand-in does not let Postgres parse it on the way in.
  const placeholder = (t: TargetColumn, n: number) => (t.type === "bytea" ? `decode($${n}, 'hex')` : t.type === "jsonb" ? `to_jsonb($${n}::text)` : `$${n}`);
  const placeholders = (row: number) => targets.map((t, c) => placeholder(t, row * targets.length + c + 1));
  const perInsert = Math.max(1, Math.floor(INSERT_PARAMETERS / targets.length));
  const columns = targets.map((t) => quote(t.name)).join(", ");
  for (let start = 0; start < rows.length; start += perInsert) {
    const batch = rows.slice(start, start + perInsert);
    const values = batch.map((_, i) => `(${placeholders(i).join(", ")})`).join(", ");
    await client.query(`INSERT INTO ${copy.tableSql} (${columns}) VALUES ${values}`, batch.flat());
  }
  return rows.length;
}

/** The statement hook that runs COPY from S3 (other statements pass through to Postgres). */
export function copyFromS3(s3: S3Store): StatementHook {
  return async (client: SqlSession, statement: SqlStatement): Promise<StatementResult | undefined> => {
    const copy = parseCopy(statement.sql);
    if (copy === undefined) return undefined;
    const targets = await targetColumns(client, copy);
    const selected =
      copy.columns === undefined
        ? targets
        : copy.columns.map((name) => {
            const column = targets.find((t) => t.name === name);
            if (column === undefined) throw new CopyError(`column "${name}" of relation "${copy.table}" does not exist`);
            return column;
          });
    const files = await sourceFiles(s3, copy);
    const dir = await mkdtemp(path.join(tmpdir(), "mrsync-copy-"));
    const instance = await DuckDBInstance.create(":memory:");
    const duck = await instance.connect();
    try {
      await duck.run("SET TimeZone = 'UTC'");
      let rows = 0;
      for (const url of files) rows += await loadFile(client, duck, s3, dir, url, copy, selected);
      return { hasResultSet: false, fields: [], rows: [], rowCount: rows };
    } finally {
      duck.closeSync();
      instance.closeSync();
      await rm(dir, { recursive: true, force: true });
    }
  };
}
