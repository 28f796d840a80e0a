/**
 * Pure: one table schema, derived from the source's INFORMATION_SCHEMA rows and the table's config, that drives
 * both the Parquet schema (what ExtractChunk writes) and the Redshift DDL (what Load creates) — docs/design.md §7.
 * Column order here is the target table's order, which is the Parquet column order (COPY maps by position).
 */
import { z } from "zod";
import type { ResolvedTable } from "#config/resolve.ts";
import { idColumnsOf } from "#config/schema.ts";
import { keyKindOf } from "./cdc/keyset.ts";
import { isRedshiftReserved } from "./redshift-reserved.ts";

/** A column as INFORMATION_SCHEMA.COLUMNS describes it (names as the server spells them). */
export type SourceColumn = {
  name: string;
  /** DATA_TYPE, lower case: "bigint", "decimal", "varchar", … */
  dataType: string;
  /** COLUMN_TYPE, lower case: "bigint(20) unsigned", "tinyint(1)", "enum('a','b')", … */
  columnType: string;
  nullable: boolean;
  numericPrecision: number | null;
  numericScale: number | null;
  datetimePrecision: number | null;
  /** CHARACTER_MAXIMUM_LENGTH: characters for text, bytes for binary. */
  characterMaximumLength: number | null;
};

/**
 * How a value travels: what the extractor turns a MySQL value into and how the Parquet writer stores it.
 * Physical/logical Parquet types follow from the kind (columnLayout in the writer).
 */
export const ValueKindSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("int32") }),
  z.object({ kind: z.literal("int64") }),
  z.object({ kind: z.literal("decimal"), precision: z.int().min(1).max(38), scale: z.int().min(0).max(38) }),
  z.object({ kind: z.literal("float") }),
  z.object({ kind: z.literal("double") }),
  z.object({ kind: z.literal("boolean") }),
  z.object({ kind: z.literal("date") }),
  z.object({ kind: z.literal("timestamp") }),
  z.object({ kind: z.literal("string"), maxBytes: z.int().positive() }),
  z.object({ kind: z.literal("binary"), maxBytes: z.int().positive(), wkb: z.boolean().optional() }),
]);
export type ValueKind = z.output<typeof ValueKindSchema>;

export const TableColumnSchema = z.object({
  /** The source column's name, as MySQL spells it (used, quoted, in SELECTs). */
  source: z.string(),
  /** The Redshift column name: lower case, sanitised, renamed by config. */
  name: z.string(),
  sourceType: z.string(),
  value: ValueKindSchema,
  redshiftType: z.string(),
  nullable: z.boolean(),
});
export type TableColumn = z.output<typeof TableColumnSchema>;

/** The run's schema, as Begin stores it for the run's chunks and its load (parsed again when read back). */
export const TableSchemaSchema = z.object({
  table: z.string(),
  columns: z.array(TableColumnSchema),
  /**
   * Source names of the merge key: primary_key from config, or the discovered primary key, or (a table without one)
   * the unique key the cursor pages on. Empty = append only.
   */
  primaryKey: z.array(z.string()),
  /** Source names of the unique key the keyset pages on (cdc_id_column, or the primary key); empty: none. */
  cursorKey: z.array(z.string()).default([]),
});
export type TableSchema = z.output<typeof TableSchemaSchema>;

/** Redshift limits that decide VARCHAR/VARBYTE widths. */
export const REDSHIFT_MAX_VARCHAR_BYTES = 65_535;
export const REDSHIFT_MAX_VARBYTE_BYTES = 1_024_000;
const REDSHIFT_MAX_IDENTIFIER_BYTES = 127;

/** The table's config, or a schema problem in it: always names the table, the column and the fix. */
export class TableSchemaError extends Error {
  override readonly name = "TableSchemaError";
}

/** Type overrides config may ask for, per source type family; anything else is refused with this list. */
const OVERRIDES = "BOOLEAN (for TINYINT(1) or BIT(1)), SUPER (for JSON or text), VARCHAR(n) (for text)";

const varchar = (bytes: number) => `VARCHAR(${Math.min(Math.max(bytes, 1), REDSHIFT_MAX_VARCHAR_BYTES)})`;
const varbyte = (bytes: number) => `VARBYTE(${Math.min(Math.max(bytes, 1), REDSHIFT_MAX_VARBYTE_BYTES)})`;

/** UTF-8 needs at most 4 bytes a character; Redshift sizes VARCHAR in bytes, MySQL in characters. */
const UTF8_MAX_BYTES_PER_CHAR = 4;

/** The members of an ENUM/SET column type, unquoted. */
function enumMembers(columnType: string): string[] {
  const body = columnType.slice(columnType.indexOf("(") + 1, columnType.lastIndexOf(")"));
  return [...body.matchAll(/'((?:[^']|'')*)'/g)].map((m) => (m[1] ?? "").replace(/''/g, "'"));
}

type Mapped = { value: ValueKind; redshiftType: string };

/** docs/design.md §7: the MySQL type → the Parquet value kind and the Redshift type. */
export function mapColumnType(column: SourceColumn, where: string): Mapped {
  const unsigned = column.columnType.includes("unsigned");
  const charBytes = (column.characterMaximumLength ?? REDSHIFT_MAX_VARCHAR_BYTES) * UTF8_MAX_BYTES_PER_CHAR;
  switch (column.dataType) {
    case "tinyint":
      return { value: { kind: "int32" }, redshiftType: "SMALLINT" };
    case "smallint":
      // SMALLINT UNSIGNED reaches 65535, past Redshift's SMALLINT (32767).
      return { value: { kind: "int32" }, redshiftType: unsigned ? "INTEGER" : "SMALLINT" };
    case "mediumint":
      return { value: { kind: "int32" }, redshiftType: "INTEGER" };
    case "int":
    case "integer":
      return unsigned ? { value: { kind: "int64" }, redshiftType: "BIGINT" } : { value: { kind: "int32" }, redshiftType: "INTEGER" };
    case "bigint":
      return unsigned
        ? { value: { kind: "decimal", precision: 20, scale: 0 }, redshiftType: "DECIMAL(20,0)" }
        : { value: { kind: "int64" }, redshiftType: "BIGINT" };
    case "decimal":
    case "numeric": {
      const precision = column.numericPrecision ?? 10;
      const scale = column.numericScale ?? 0;
      if (precision <= 38) return { value: { kind: "decimal", precision, scale }, redshiftType: `DECIMAL(${precision},${scale})` };
      // Sign, digits and the point: exact text where Redshift's DECIMAL cannot hold the precision.
      return { value: { kind: "string", maxBytes: precision + 2 }, redshiftType: varchar(precision + 2) };
    }
    case "float":
      return { value: { kind: "float" }, redshiftType: "REAL" };
    case "double":
    case "real":
      return { value: { kind: "double" }, redshiftType: "DOUBLE PRECISION" };
    case "bit": {
      const bits = column.numericPrecision ?? 1;
      if (bits === 1) return { value: { kind: "boolean" }, redshiftType: "BOOLEAN" };
      if (bits < 64) return { value: { kind: "int64" }, redshiftType: "BIGINT" };
      return { value: { kind: "decimal", precision: 20, scale: 0 }, redshiftType: "DECIMAL(20,0)" };
    }
    case "year":
      return { value: { kind: "int32" }, redshiftType: "SMALLINT" };
    case "date":
      return { value: { kind: "date" }, redshiftType: "DATE" };
    case "datetime":
    case "timestamp":
      return { value: { kind: "timestamp" }, redshiftType: "TIMESTAMP" };
    case "time":
      // MySQL TIME spans -838:59:59.999999 to 838:59:59.999999: more than a day, so it lands as text.
      return { value: { kind: "string", maxBytes: 17 }, redshiftType: "VARCHAR(17)" };
    case "char":
    case "varchar":
      return { value: { kind: "string", maxBytes: Math.min(charBytes, REDSHIFT_MAX_VARCHAR_BYTES) }, redshiftType: varchar(charBytes) };
    case "tinytext":
    case "text":
    case "mediumtext":
    case "longtext":
    case "json":
      return { value: { kind: "string", maxBytes: REDSHIFT_MAX_VARCHAR_BYTES }, redshiftType: varchar(REDSHIFT_MAX_VARCHAR_BYTES) };
    case "enum": {
      const longest = Math.max(1, ...enumMembers(column.columnType).map((m) => Buffer.byteLength(m)));
      return { value: { kind: "string", maxBytes: longest }, redshiftType: varchar(longest) };
    }
    case "set": {
      const members = enumMembers(column.columnType);
      const all = members.reduce((sum, m) => sum + Buffer.byteLength(m), 0) + Math.max(0, members.length - 1);
      return { value: { kind: "string", maxBytes: Math.max(1, all) }, redshiftType: varchar(all) };
    }
    case "binary":
    case "varbinary": {
      const bytes = column.characterMaximumLength ?? 255;
      return { value: { kind: "binary", maxBytes: bytes }, redshiftType: varbyte(bytes) };
    }
    case "tinyblob":
      return { value: { kind: "binary", maxBytes: 255 }, redshiftType: varbyte(255) };
    case "blob":
      return { value: { kind: "binary", maxBytes: 65_535 }, redshiftType: varbyte(65_535) };
    case "mediumblob":
    case "longblob":
      return { value: { kind: "binary", maxBytes: REDSHIFT_MAX_VARBYTE_BYTES }, redshiftType: varbyte(REDSHIFT_MAX_VARBYTE_BYTES) };
    case "geometry":
    case "point":
    case "linestring":
    case "polygon":
    case "multipoint":
    case "multilinestring":
    case "multipolygon":
    case "geometrycollection":
      return { value: { kind: "binary", maxBytes: REDSHIFT_MAX_VARBYTE_BYTES, wkb: true }, redshiftType: varbyte(REDSHIFT_MAX_VARBYTE_BYTES) };
    default:
      throw new TableSchemaError(`${where}: MySQL type ${column.columnType} is not supported; exclude the column (columns: {${column.name}: {exclude: true}})`);
  }
}

/** A type override from config, checked against the source type it replaces. */
function applyOverride(column: SourceColumn, mapped: Mapped, override: string, where: string): Mapped {
  const wanted = override.trim().toUpperCase().replace(/\s+/g, " ");
  const isText = mapped.value.kind === "string";
  if (wanted === "BOOLEAN" && (column.columnType.startsWith("tinyint(1)") || mapped.value.kind === "boolean")) {
    return { value: { kind: "boolean" }, redshiftType: "BOOLEAN" };
  }
  if (wanted === "SUPER" && isText) {
    return { value: { kind: "string", maxBytes: REDSHIFT_MAX_VARCHAR_BYTES }, redshiftType: "SUPER" };
  }
  const width = /^VARCHAR\((\d+)\)$/.exec(wanted);
  if (width !== null && isText) {
    const bytes = Number(width[1]);
    if (bytes >= 1 && bytes <= REDSHIFT_MAX_VARCHAR_BYTES) return { value: { kind: "string", maxBytes: bytes }, redshiftType: `VARCHAR(${bytes})` };
  }
  throw new TableSchemaError(`${where}: type_overrides ${override} does not apply to MySQL type ${column.columnType}; supported overrides: ${OVERRIDES}`);
}

/** Lower case, characters Redshift does not allow unquoted replaced by _, at most 127 bytes. */
export function sanitiseColumnName(name: string): string {
  let sanitised = name.toLowerCase().replace(/[^a-z0-9_$]/g, "_");
  if (!/^[a-z_]/.test(sanitised)) sanitised = `_${sanitised}`;
  return sanitised.slice(0, REDSHIFT_MAX_IDENTIFIER_BYTES);
}

/**
 * The target name of a column. A sanitised name that is a Redshift reserved word gets a trailing underscore, so
 * that downstream SQL never needs quotes; a rename from config is taken as given (it was validated as an identifier).
 */
function targetColumnName(source: string, rename: string | undefined): string {
  if (rename !== undefined) return rename;
  const sanitised = sanitiseColumnName(source);
  return isRedshiftReserved(sanitised) ? `${sanitised}_` : sanitised;
}

/** The Redshift name of a source column under the table's `columns` config (config keys match case-insensitively). */
export function targetNameOfSource(settings: Pick<ColumnSettings, "columns">, source: string): string {
  const mapping = Object.entries(settings.columns ?? {}).find(([name]) => name.toLowerCase() === source.toLowerCase())?.[1];
  return targetColumnName(source, typeof mapping === "string" ? mapping : mapping?.rename);
}

const INTEGER_TYPES = new Set(["tinyint", "smallint", "mediumint", "int", "integer", "bigint"]);
const TIME_TYPES = new Set(["datetime", "timestamp", "date"]);

/** Keyset paging compares cursor values: the key must be of a type whose order MySQL and the cursor agree on. */
function cursorTypeProblem(role: string, column: SourceColumn, strategy: ColumnSettings["cdc_strategy"]): string | undefined {
  if (role === "cdc_timestamp_column" && !TIME_TYPES.has(column.dataType)) {
    return `cdc_timestamp_column ${column.name} is ${column.columnType}; it must be DATETIME, TIMESTAMP or DATE`;
  }
  if (role !== "cursor key") return undefined;
  if (strategy === "custom_sql" && !INTEGER_TYPES.has(column.dataType)) {
    return `cdc_id_column ${column.name} is ${column.columnType}; custom_sql binds :last_id as an integer (for other keys use hybrid or id_only)`;
  }
  const kind = keyKindOf(column.columnType);
  return typeof kind === "string"
    ? undefined
    : `key column ${column.name} cannot order the keyset: ${kind.problem}; page on another unique key (cdc_id_column)`;
}

/** The unique key a strategy pages on, by the table's settings and its primary key (source names as configured). */
export function configuredCursorKey(settings: Pick<ResolvedTable, "cdc_strategy" | "cdc_id_column">, primaryKey: readonly string[]): string[] {
  switch (settings.cdc_strategy) {
    case "hybrid":
    case "id_only":
      return idColumnsOf(settings) ?? [...primaryKey];
    case "full_sync":
      return [...primaryKey];
    case "custom_sql":
      return idColumnsOf(settings) ?? [];
    case "timestamp_only":
      return [];
  }
}

type ColumnSettings = Pick<
  ResolvedTable,
  "key" | "columns" | "type_overrides" | "primary_key" | "cdc_strategy" | "cdc_id_column" | "cdc_timestamp_column" | "dist_key" | "sort_keys"
>;

/** Builds the table schema; every config mistake found is reported at once, each with its fix. */
export function buildTableSchema(settings: ColumnSettings, sourceColumns: readonly SourceColumn[], discoveredKey: readonly string[]): TableSchema {
  const table = settings.key;
  const problems: string[] = [];
  const byLowerName = new Map(sourceColumns.map((c) => [c.name.toLowerCase(), c]));
  const known = (name: string) => byLowerName.get(name.toLowerCase());
  const available = () => sourceColumns.map((c) => c.name).join(", ");

  for (const name of [...Object.keys(settings.columns ?? {}), ...Object.keys(settings.type_overrides ?? {})]) {
    if (known(name) === undefined) problems.push(`${table}: column ${name} named in config does not exist in the source; columns: ${available()}`);
  }
  const excluded = new Set<string>();
  const renames = new Map<string, string>();
  for (const [name, mapping] of Object.entries(settings.columns ?? {})) {
    const column = known(name);
    if (column === undefined) continue;
    if (typeof mapping === "string") renames.set(column.name, mapping);
    else if (mapping.exclude === true) excluded.add(column.name);
    else if (mapping.rename !== undefined) renames.set(column.name, mapping.rename);
  }

  let primaryKey = (settings.primary_key ?? discoveredKey).map((name) => known(name)?.name ?? name);
  for (const name of settings.primary_key ?? []) {
    if (known(name) === undefined) problems.push(`${table}: primary_key column ${name} does not exist in the source; columns: ${available()}`);
  }
  const cursorKey = configuredCursorKey(settings, primaryKey).map((name) => known(name)?.name ?? name);
  if (cursorKey.length === 0 && (settings.cdc_strategy === "hybrid" || settings.cdc_strategy === "id_only")) {
    problems.push(
      `${table}: ${settings.cdc_strategy} pages on a unique key and the table has no primary key; ` +
        "name a unique NOT NULL key in cdc_id_column (a column or a list), add a primary key, or use timestamp_only or full_sync",
    );
  }
  // A table without a primary key merges on the unique key its cursor pages on (re-read rows replace, never duplicate).
  if (primaryKey.length === 0 && settings.cdc_strategy !== "full_sync" && settings.cdc_strategy !== "custom_sql") primaryKey = cursorKey;
  const required: [string | undefined, string][] = [
    ...cursorKey.map((name): [string, string] => [name, "cursor key"]),
    [settings.cdc_timestamp_column, "cdc_timestamp_column"],
    ...primaryKey.map((name): [string, string] => [name, "primary key"]),
  ];
  for (const [name, role] of required) {
    if (name === undefined) continue;
    const column = known(name);
    if (column === undefined) {
      if (role !== "primary key")
        problems.push(`${table}: ${role === "cursor key" ? "cdc_id_column" : role} ${name} does not exist in the source; columns: ${available()}`);
    } else if (excluded.has(column.name)) {
      problems.push(`${table}: column ${column.name} is the ${role} and cannot be excluded; remove its exclude in columns`);
      excluded.delete(column.name);
    } else {
      const problem = cursorTypeProblem(role, column, settings.cdc_strategy);
      if (problem !== undefined) problems.push(`${table}: ${problem}`);
    }
  }

  const overrides = new Map(Object.entries(settings.type_overrides ?? {}).map(([k, v]) => [known(k)?.name ?? k, v]));
  const columns: TableColumn[] = [];
  const claimedBy = new Map<string, string>();
  for (const source of sourceColumns) {
    if (excluded.has(source.name)) continue;
    const where = `${table}.${source.name}`;
    let mapped: Mapped;
    try {
      mapped = mapColumnType(source, where);
      const override = overrides.get(source.name);
      if (override !== undefined) mapped = applyOverride(source, mapped, override, where);
    } catch (error) {
      problems.push(error instanceof TableSchemaError ? error.message : String(error));
      continue;
    }
    const name = targetColumnName(source.name, renames.get(source.name));
    const other = claimedBy.get(name);
    if (other !== undefined) {
      problems.push(`${table}: columns ${other} and ${source.name} both become ${name} in Redshift; rename one (columns: {${source.name}: another_name})`);
      continue;
    }
    claimedBy.set(name, source.name);
    columns.push({ source: source.name, name, sourceType: source.columnType, ...mapped, nullable: source.nullable });
  }
  if (columns.length === 0 && problems.length === 0) problems.push(`${table}: no columns left to sync (all excluded, or the table has none)`);
  const synced = (name: string) => columns.some((c) => c.source.toLowerCase() === name.toLowerCase());
  const design: [string, string][] = [
    ...(settings.dist_key === undefined ? [] : [[settings.dist_key, "dist_key"] as [string, string]]),
    ...(settings.sort_keys ?? []).map((name): [string, string] => [name, "sort_keys"]),
  ];
  for (const [name, role] of design) {
    if (!synced(name))
      problems.push(`${table}: ${role} names ${name}, which is not a synced column; synced columns: ${columns.map((c) => c.source).join(", ")}`);
  }
  if (problems.length > 0) throw new TableSchemaError(problems.join("\n"));
  return { table, columns, primaryKey, cursorKey };
}
