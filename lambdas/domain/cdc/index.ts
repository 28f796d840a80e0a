/** Pure: picks the table's CDC strategy and gives it the quoted names, key columns and SELECT list it builds queries from. */
import type { ResolvedTable } from "#config/resolve.ts";
import { DEFAULT_SETTLE_SECONDS } from "#config/schema.ts";
import { configuredCursorKey, TableSchemaError, type TableSchema } from "#domain/table-schema.ts";
import { customSqlStrategy } from "./custom-sql.ts";
import { fullSyncStrategy } from "./full-sync.ts";
import { hybridStrategy } from "./hybrid.ts";
import { idOnlyStrategy } from "./id-only.ts";
import { keyColumnOf, type KeyColumn } from "./keyset.ts";
import { timestampOnlyStrategy } from "./timestamp-only.ts";
import { quotedTable, selectExpression, type Strategy, type StrategyContext } from "./types.ts";

export type CdcTable = Pick<
  ResolvedTable,
  "key" | "sourceSchema" | "sourceTable" | "cdc_strategy" | "cdc_timestamp_column" | "cdc_id_column" | "custom_sql" | "settle_seconds"
>;

/** The schema's column as a key column (its index in the SELECT list too). */
function keyColumn(table: CdcTable, schema: TableSchema, name: string): { column: KeyColumn; index: number } {
  const index = schema.columns.findIndex((c) => c.source.toLowerCase() === name.toLowerCase());
  const column = schema.columns[index];
  if (column === undefined) throw new TableSchemaError(`${table.key}: cursor column ${name} is not a synced column`);
  const key = keyColumnOf(column);
  if ("problem" in key) throw new TableSchemaError(`${table.key}: cursor column ${name}: ${key.problem}`);
  return { column: key, index };
}

/** The key the keyset pages on: the one Begin stored in the schema (a schema stored before it did: by the same rule). */
export const cursorKeyOf = (table: CdcTable, schema: TableSchema): string[] =>
  schema.cursorKey.length > 0 ? schema.cursorKey : configuredCursorKey(table, schema.primaryKey);

export function strategyContext(table: CdcTable, schema: TableSchema): StrategyContext {
  const timestamp = table.cdc_timestamp_column === undefined ? undefined : keyColumn(table, schema, table.cdc_timestamp_column);
  const key = cursorKeyOf(table, schema).map((name) => keyColumn(table, schema, name));
  return {
    from: quotedTable(table),
    select: schema.columns.map(selectExpression).join(", "),
    schema,
    timestamp: timestamp?.column,
    timestampIndex: timestamp?.index,
    key: key.map((k) => k.column),
    keyIndexes: key.map((k) => k.index),
    customSql: table.custom_sql,
    settleSeconds: table.settle_seconds ?? DEFAULT_SETTLE_SECONDS,
  };
}

export function strategyFor(table: CdcTable, schema: TableSchema): Strategy {
  const context = strategyContext(table, schema);
  switch (table.cdc_strategy) {
    case "hybrid":
      return hybridStrategy(context);
    case "timestamp_only":
      return timestampOnlyStrategy(context);
    case "id_only":
      return idOnlyStrategy(context);
    case "full_sync":
      return fullSyncStrategy(context);
    case "custom_sql":
      return customSqlStrategy(context);
  }
}

export { START, type Position, type SqlQuery, type Strategy } from "./types.ts";
