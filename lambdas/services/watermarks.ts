/**
 * Operator access to a table's watermark (mrsync watermark get|reset|set): each change is one conditional write,
 * so it never overwrites a run's concurrent commit; a run that loses its table this way fails its next commit.
 */
import { discoverTable } from "#adapters/mysql.ts";
import { strategyContext } from "#domain/cdc/index.ts";
import { bindValue } from "#domain/cdc/keyset.ts";
import { buildTableSchema } from "#domain/table-schema.ts";
import { resetCursor, setCursor, type Watermark } from "#domain/watermark.ts";
import { watermarkIdentity, type TableContext } from "./sync-context.ts";

export async function getWatermark(context: TableContext): Promise<Watermark | undefined> {
  return (await context.watermarks.get(context.watermarkKey))?.watermark;
}

/** Forgets the cursor: the next run re-reads the whole table. Files still pending load stay listed. */
export async function resetWatermark(context: TableContext): Promise<Watermark> {
  return context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) => resetCursor(current, context.now()));
}

/** The tuple checked against the table's key as the source describes it now: its length and each value's type. */
async function checkKey(context: TableContext, key: readonly string[]): Promise<void> {
  const connection = await context.connect();
  try {
    const discovered = await discoverTable(connection, context.table.sourceSchema, context.table.sourceTable);
    const columns = strategyContext(context.table, buildTableSchema(context.table, discovered.columns, discovered.primaryKey)).key;
    if (columns.length !== key.length) {
      throw new Error(`--key: ${context.table.key} pages on (${columns.map((c) => c.source).join(", ")}): give ${columns.length} value(s), got ${JSON.stringify(key)}`);
    }
    columns.forEach((column, i) => {
      try {
        bindValue(column, key[i] ?? "");
      } catch (error) {
        throw new Error(`--key: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    });
  } finally {
    await connection.end();
  }
}

/** Moves the cursor (timestamp in MySQL's form, e.g. "2025-11-27 15:30:00.123456", UTC; the key as a tuple of text values). */
export async function setWatermark(context: TableContext, cursor: { timestamp?: string | null; key?: string[] | null }): Promise<Watermark> {
  if (cursor.key !== undefined && cursor.key !== null) await checkKey(context, cursor.key);
  return context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) => setCursor(current, cursor, context.now()));
}
