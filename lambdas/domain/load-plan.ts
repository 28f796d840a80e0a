/**
 * Pure: the SQL of one load (docs/design.md §8) — a single BatchExecuteStatement, so one transaction: lock the ledger,
 * ensure the target table, a staging table in the files' column order, COPY from the manifest, then de-duplicate by
 * primary key (latest cursor wins) and delete+insert (or append, or replace for full_sync), and the ledger row.
 * Every statement that changes the target is guarded by "this load id is not in the ledger", so a load applied once
 * is never applied again — whatever retried it.
 */
import { createHash } from "node:crypto";
import { createTableSql, quoteRedshift, type TableDesign } from "./redshift-ddl.ts";
import { REDSHIFT_MAX_VARCHAR_BYTES, type TableSchema } from "./table-schema.ts";

/**
 * The ledger every target schema shared before each target table had its own. Loads no longer write it; a load id
 * found in it is applied (a load committed before the upgrade, resumed after it), so it is still read where it exists.
 */
export const LEGACY_LEDGER_TABLE = "mrsync_load_ledger";
const LEDGER_PREFIX = "mrsync_ledger__";
/** Redshift's longest identifier, in bytes. */
const MAX_IDENTIFIER_BYTES = 127;

/**
 * The load ledger of one target table. Its own, so that a load's LOCK (which makes every other reader of the locked
 * table wait until the load commits) holds back only later loads of the same table — which its run's lease keeps
 * out anyway — never another table's load (docs/design.md, "The load ledger").
 */
export function ledgerTable(targetTable: string): string {
  const name = `${LEDGER_PREFIX}${targetTable}`;
  if (Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES) return name;
  const hash = createHash("sha256").update(targetTable).digest("hex").slice(0, 8);
  let head = targetTable;
  while (Buffer.byteLength(`${LEDGER_PREFIX}${head}_${hash}`) > MAX_IDENTIFIER_BYTES) head = head.slice(0, -1);
  return `${LEDGER_PREFIX}${head}_${hash}`;
}
const RANK = "__mrsync_rank";

export type LoadMode = "merge" | "append" | "replace";

export type LoadPlanInput = {
  schema: TableSchema;
  target: { schema: string; table: string };
  design: TableDesign;
  mode: LoadMode;
  manifestUrl: string;
  /** IAM role Redshift assumes to read S3; undefined = the cluster's default role. */
  copyRoleArn: string | undefined;
  loadId: string;
  pipeline: string;
  table: string;
  files: number;
  /** Target columns ordering duplicates newest first (the cursor: timestamp, then id). */
  newestFirst: string[];
};

export type LoadPlan = { statements: string[]; /** index of the statement whose ResultRows is the rows loaded */ insertIndex: number };

export const sqlString = (value: string): string => `'${value.replace(/'/g, "''")}'`;

const isSuper = (redshiftType: string) => redshiftType.toUpperCase() === "SUPER";

const ledgerOf = (target: { schema: string; table: string }) => `${quoteRedshift(target.schema)}.${quoteRedshift(ledgerTable(target.table))}`;

export function ledgerTableSql(target: { schema: string; table: string }): string {
  return `CREATE TABLE IF NOT EXISTS ${ledgerOf(target)} (
  load_id VARCHAR(256) NOT NULL, pipeline VARCHAR(128) NOT NULL, table_name VARCHAR(256) NOT NULL,
  files INTEGER NOT NULL, rows_loaded BIGINT NOT NULL, loaded_at TIMESTAMP NOT NULL, PRIMARY KEY (load_id)
)`;
}

export function ledgerLookupSql(target: { schema: string; table: string }, loadId: string): string {
  return `SELECT rows_loaded FROM ${ledgerOf(target)} WHERE load_id = ${sqlString(loadId)}`;
}

/** The same lookup in the schema's shared ledger of earlier versions. */
export function legacyLedgerLookupSql(schema: string, loadId: string): string {
  return `SELECT rows_loaded FROM ${quoteRedshift(schema)}.${quoteRedshift(LEGACY_LEDGER_TABLE)} WHERE load_id = ${sqlString(loadId)}`;
}

export function loadPlan(input: LoadPlanInput): LoadPlan {
  const { schema, target } = input;
  const table = `${quoteRedshift(target.schema)}.${quoteRedshift(target.table)}`;
  const ledger = ledgerOf(target);
  const stage = quoteRedshift(`mrsync_stage_${input.loadId.replace(/[^a-z0-9_]/gi, "_")}`);
  const notApplied = `NOT EXISTS (SELECT 1 FROM ${ledger} WHERE load_id = ${sqlString(input.loadId)})`;
  const columns = schema.columns.map((c) => quoteRedshift(c.name));
  const columnList = columns.join(", ");
  const selectList = schema.columns.map((c) => (isSuper(c.redshiftType) ? `JSON_PARSE(${quoteRedshift(c.name)})` : quoteRedshift(c.name))).join(", ");
  const key = schema.primaryKey.map((source) => quoteRedshift(schema.columns.find((c) => c.source === source)?.name ?? source));
  const role = input.copyRoleArn === undefined ? "IAM_ROLE default" : `IAM_ROLE ${sqlString(input.copyRoleArn)}`;

  const statements = [
    // First, before the transaction reads anything: loads of one target table share its ledger, which each reads and
    // writes; Redshift's serializable isolation would abort one of two concurrent loads (ERROR 1023). The lock makes
    // them take turns instead (Redshift's documented remedy); it is the table's own ledger, so no other table's load
    // waits behind it. The ledger exists: submitLoad creates it beforehand.
    `LOCK ${ledger}`,
    createTableSql(schema, target, input.design),
    // SUPER columns are staged as text: COPY would land a Parquet string in SUPER as a string scalar; the insert parses it.
    `CREATE TEMP TABLE ${stage} (${schema.columns.map((c) => `${quoteRedshift(c.name)} ${isSuper(c.redshiftType) ? `VARCHAR(${REDSHIFT_MAX_VARCHAR_BYTES})` : c.redshiftType}`).join(", ")})`,
    `COPY ${stage} FROM ${sqlString(input.manifestUrl)} ${role} MANIFEST FORMAT AS PARQUET`,
  ];
  let insert: string;
  if (input.mode === "merge" && key.length > 0) {
    const order = (input.newestFirst.length > 0 ? input.newestFirst.map(quoteRedshift) : key).map((c) => `${c} DESC`).join(", ");
    statements.push(`DELETE FROM ${table} USING ${stage} s WHERE ${key.map((k) => `${table}.${k} = s.${k}`).join(" AND ")} AND ${notApplied}`);
    insert = `INSERT INTO ${table} (${columnList}) SELECT ${selectList} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY ${key.join(", ")} ORDER BY ${order}) AS ${RANK} FROM ${stage}) ranked WHERE ${RANK} = 1 AND ${notApplied}`;
  } else {
    // full_sync replace: DELETE, not TRUNCATE — TRUNCATE commits the transaction in Redshift.
    if (input.mode === "replace") statements.push(`DELETE FROM ${table} WHERE ${notApplied}`);
    insert = `INSERT INTO ${table} (${columnList}) SELECT ${selectList} FROM ${stage} WHERE ${notApplied}`;
  }
  statements.push(insert);
  const insertIndex = statements.length - 1;
  statements.push(
    `INSERT INTO ${ledger} (load_id, pipeline, table_name, files, rows_loaded, loaded_at) SELECT ${sqlString(input.loadId)}, ${sqlString(input.pipeline)}, ${sqlString(input.table)}, ${input.files}, (SELECT COUNT(*) FROM ${stage}), GETDATE() WHERE ${notApplied}`,
    `DROP TABLE ${stage}`,
  );
  return { statements, insertIndex };
}

/** A target column as Redshift's catalogue (SVV_COLUMNS) describes it. */
export type ExistingColumn = { name: string; dataType: string; maxLength: number | null; precision: number | null; scale: number | null };

export type SchemaChanges = { statements: string[]; problems: string[] };

/** The names SVV_COLUMNS reports for a schema column's type (the local stand-in's view reports Redshift's names). */
function reportedTypes(redshiftType: string): string[] {
  const type = redshiftType.toLowerCase().replace(/\(.*$/, "").trim();
  const names: Record<string, string[]> = {
    varchar: ["character varying"],
    decimal: ["numeric"],
    timestamp: ["timestamp without time zone"],
    varbyte: ["binary varying", "varbyte"],
    super: ["super"],
  };
  return names[type] ?? [type];
}

/**
 * Schema evolution without a resync: columns new in the source are added (nullable), VARCHARs the source widened are
 * widened; anything else (a type change, a column gone from the source) stops the table with the fix.
 */
export function planSchemaChanges(schema: TableSchema, target: { schema: string; table: string }, existing: readonly ExistingColumn[]): SchemaChanges {
  const table = `${quoteRedshift(target.schema)}.${quoteRedshift(target.table)}`;
  const statements: string[] = [];
  const problems: string[] = [];
  const byName = new Map(existing.map((c) => [c.name, c]));
  for (const column of schema.columns) {
    const current = byName.get(column.name);
    if (current === undefined) {
      statements.push(`ALTER TABLE ${table} ADD COLUMN ${quoteRedshift(column.name)} ${column.redshiftType}`);
      continue;
    }
    if (!reportedTypes(column.redshiftType).includes(current.dataType)) {
      problems.push(
        `${schema.table}: column ${column.name} is ${current.dataType} in Redshift but the source now gives ${column.redshiftType}; ` +
          `migrate the column by hand (or rename it with columns:) and re-run`,
      );
      continue;
    }
    const width = /^VARCHAR\((\d+)\)$/i.exec(column.redshiftType);
    if (width !== null && current.maxLength !== null && Number(width[1]) > current.maxLength) {
      if (schema.primaryKey.some((key) => key.toLowerCase() === column.source.toLowerCase())) {
        // Redshift cannot change the type of a primary-key column: the widening is an administrator's migration.
        problems.push(
          `${schema.table}: column ${column.name} widened in the source to ${column.redshiftType} (Redshift: VARCHAR(${current.maxLength})) and is part of the primary key, ` +
            `which Redshift cannot alter; migrate by hand: ALTER TABLE ${table} DROP CONSTRAINT <its primary key constraint>; ` +
            `ALTER TABLE ${table} ALTER COLUMN ${quoteRedshift(column.name)} TYPE VARCHAR(${width[1]}); ALTER TABLE ${table} ADD PRIMARY KEY (…); then re-run`,
        );
      } else {
        statements.push(`ALTER TABLE ${table} ALTER COLUMN ${quoteRedshift(column.name)} TYPE VARCHAR(${width[1]})`);
      }
    }
    const decimal = /^DECIMAL\((\d+),(\d+)\)$/i.exec(column.redshiftType);
    if (decimal !== null && (Number(decimal[1]) !== current.precision || Number(decimal[2]) !== current.scale)) {
      problems.push(
        `${schema.table}: column ${column.name} is numeric(${current.precision ?? "?"},${current.scale ?? "?"}) in Redshift but the source now gives ${column.redshiftType}; migrate the column by hand and re-run`,
      );
    }
  }
  // A column the source no longer sends stays in Redshift (NULL in new rows): COPY goes to the staging table, and the
  // insert names its columns, so nothing shifts.
  return { statements, problems };
}
