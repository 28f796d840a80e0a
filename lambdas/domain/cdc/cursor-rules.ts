/**
 * Pure: the configurations that would lose rows, refused before anything is read (docs/design.md §12). A keyset cursor
 * that is not unique skips the rows sharing its value at every chunk edge, and the cursor then sits past them for
 * good; re-read rows of a table without a key land twice. Begin and `mrsync config validate --check-sources` both
 * ask this module, so the message is the same wherever the problem is found.
 */
import type { ResolvedTable } from "#config/resolve.ts";
import { DEFAULT_LOOKBACK_SECONDS } from "#config/schema.ts";
import type { SourceColumn, TableSchema } from "#domain/table-schema.ts";
import type { Strategy } from "./types.ts";

export type UniqueIndexInfo = { name: string; columns: string[] };

type RuleTable = Pick<ResolvedTable, "key" | "cdc_strategy" | "cdc_timestamp_column" | "cdc_id_column" | "lookback_seconds" | "primary_key">;

const lower = (names: readonly string[]) => names.map((n) => n.toLowerCase());
const list = (names: readonly string[]) => `(${names.join(", ")})`;

/** The columns whose values order the keyset (and must identify one row). Empty: the strategy pages on no key. */
export function orderColumns(table: RuleTable, schema: TableSchema): string[] {
  switch (table.cdc_strategy) {
    case "hybrid":
      return [...(table.cdc_timestamp_column === undefined ? [] : [table.cdc_timestamp_column]), ...schema.cursorKey];
    case "id_only":
    case "full_sync":
      return schema.cursorKey;
    case "timestamp_only":
    case "custom_sql":
      return [];
  }
}

/** Problems that would lose or duplicate rows; each names the table, the columns, why, and the fixes. */
export function cursorProblems(table: RuleTable, schema: TableSchema, columns: readonly SourceColumn[], uniqueIndexes: readonly UniqueIndexInfo[]): string[] {
  const problems: string[] = [];
  const order = orderColumns(table, schema);
  const notNull = new Set(columns.filter((c) => !c.nullable).map((c) => c.name.toLowerCase()));
  if (order.length > 0) {
    const ordered = new Set(lower(order));
    const covering = uniqueIndexes.filter((index) => lower(index.columns).every((c) => ordered.has(c)));
    const safe = covering.find((index) => lower(index.columns).every((c) => notNull.has(c)));
    if (safe === undefined) {
      const indexes =
        uniqueIndexes.length === 0
          ? "the table has no unique index"
          : `its unique indexes: ${uniqueIndexes.map((i) => `${i.name} ${list(i.columns)}`).join(", ")}`;
      const nullable =
        covering.length > 0 ? ` (${covering.map((i) => `${i.name} ${list(i.columns)}`).join(", ")} allows NULLs, and NULLs are never equal)` : "";
      const keyName = table.cdc_strategy === "full_sync" ? "primary_key" : "cdc_id_column";
      const primary = uniqueIndexes.find((i) => i.name === "PRIMARY");
      const fixes = [
        primary === undefined
          ? undefined
          : `page on the primary key ${list(primary.columns)} (omit ${keyName}${table.cdc_strategy === "full_sync" ? "" : `, or cdc_id_column: [${primary.columns.join(", ")}]`})`,
        "add a unique NOT NULL index on the columns",
        table.cdc_strategy === "full_sync" ? undefined : "use timestamp_only (whole timestamps per chunk) or full_sync",
      ].filter((f): f is string => f !== undefined);
      problems.push(
        `${table.key}: ${table.cdc_strategy} pages on ${list(order)}, which no unique NOT NULL index covers${nullable}: rows sharing a value at a chunk edge would be skipped and never read again; ${indexes}. ` +
          `Fix: ${fixes.join("; or ")}`,
      );
    }
  }
  if (schema.primaryKey.length === 0 && (table.lookback_seconds ?? 0) > 0) {
    problems.push(
      `${table.key}: lookback_seconds ${table.lookback_seconds ?? 0} re-reads rows, and this table has no key to merge them on: they would land twice in Redshift. ` +
        "Fix: remove lookback_seconds, or give primary_key (a unique key), or use full_sync",
    );
  }
  return problems;
}

/** A configuration that would lose (or duplicate) rows: refused before anything is read. */
export class UnsafeCursorError extends Error {
  override readonly name = "UnsafeCursorError";
}

/**
 * How far back a run after a successful one starts reading (late commits, README "Late commits"): as configured, else
 * DEFAULT_LOOKBACK_SECONDS for the timestamp strategies on a table whose loads merge by key, else 0.
 */
export function lookbackSecondsOf(table: Pick<ResolvedTable, "lookback_seconds">, strategy: Pick<Strategy, "settles">, schema: TableSchema): number {
  if (table.lookback_seconds !== undefined) return table.lookback_seconds;
  return strategy.settles === true && schema.primaryKey.length > 0 ? DEFAULT_LOOKBACK_SECONDS : 0;
}
