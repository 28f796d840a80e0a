/**
 * Pure: Redshift DDL from the table schema (docs/design.md §7) — the target table in the Parquet files' column order,
 * with the table design from config (dist style/key, sort keys). Identifiers are always double-quoted.
 */
import type { ResolvedTable } from "#config/resolve.ts";
import type { TableSchema } from "./table-schema.ts";
import { TableSchemaError } from "./table-schema.ts";

export const quoteRedshift = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export type TableDesign = Pick<ResolvedTable, "dist_style" | "dist_key" | "sort_keys">;

/** A source column name from config → its target column, or a clear error. */
function targetColumn(schema: TableSchema, source: string, role: string): string {
  const column = schema.columns.find((c) => c.source.toLowerCase() === source.toLowerCase());
  if (column === undefined)
    throw new TableSchemaError(`${schema.table}: ${role} ${source} is not a synced column; columns: ${schema.columns.map((c) => c.source).join(", ")}`);
  return column.name;
}

/**
 * CREATE TABLE IF NOT EXISTS. Every column is nullable: zero dates become NULL even in NOT NULL source columns, and
 * Redshift does not enforce keys anyway; the primary key is declared (the planner uses it).
 */
export function createTableSql(schema: TableSchema, target: { schema: string; table: string }, design: TableDesign = {}): string {
  const columns = schema.columns.map((c) => `  ${quoteRedshift(c.name)} ${c.redshiftType}`);
  const key = schema.primaryKey.map((k) => quoteRedshift(targetColumn(schema, k, "primary key column")));
  if (key.length > 0) columns.push(`  PRIMARY KEY (${key.join(", ")})`);
  const clauses: string[] = [];
  if (design.dist_key !== undefined) clauses.push(`DISTSTYLE KEY DISTKEY(${quoteRedshift(targetColumn(schema, design.dist_key, "dist_key"))})`);
  else if (design.dist_style !== undefined) clauses.push(`DISTSTYLE ${design.dist_style.toUpperCase()}`);
  if (design.sort_keys !== undefined) clauses.push(`SORTKEY(${design.sort_keys.map((k) => quoteRedshift(targetColumn(schema, k, "sort key"))).join(", ")})`);
  const name = `${quoteRedshift(target.schema)}.${quoteRedshift(target.table)}`;
  return `CREATE TABLE IF NOT EXISTS ${name} (\n${columns.join(",\n")}\n)${clauses.length > 0 ? ` ${clauses.join(" ")}` : ""}`;
}
