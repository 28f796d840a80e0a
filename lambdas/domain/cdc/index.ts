/** Pure: picks the table's CDC strategy and gives it the quoted names and SELECT list it builds queries from. */
import type { ResolvedTable } from "#config/resolve.ts";
import type { TableSchema } from "#domain/table-schema.ts";
import { customSqlStrategy } from "./custom-sql.ts";
import { fullSyncStrategy } from "./full-sync.ts";
import { hybridStrategy } from "./hybrid.ts";
import { idOnlyStrategy } from "./id-only.ts";
import { timestampOnlyStrategy } from "./timestamp-only.ts";
import { quotedTable, selectExpression, type Strategy, type StrategyContext } from "./types.ts";

export type CdcTable = Pick<ResolvedTable, "sourceSchema" | "sourceTable" | "cdc_strategy" | "cdc_timestamp_column" | "cdc_id_column" | "custom_sql">;

export function strategyContext(table: CdcTable, schema: TableSchema): StrategyContext {
  const indexOf = (name: string | undefined) => {
    if (name === undefined) return undefined;
    const index = schema.columns.findIndex((c) => c.source.toLowerCase() === name.toLowerCase());
    return index < 0 ? undefined : index;
  };
  const idIndex = indexOf(table.cdc_id_column);
  return {
    from: quotedTable(table),
    select: schema.columns.map(selectExpression).join(", "),
    schema,
    timestampColumn: table.cdc_timestamp_column,
    idColumn: table.cdc_id_column,
    timestampIndex: indexOf(table.cdc_timestamp_column),
    idIndex,
    customSql: table.custom_sql,
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
