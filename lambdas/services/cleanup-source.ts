/**
 * The temp-table pattern (`mrsync sync pipeline … --then-cleanup-source`): after a validated, fully loaded run,
 * delete the synced rows from the MySQL staging table, then the table's loaded staged files, then reset its
 * watermark. MySQL's count is taken under FOR UPDATE in the transaction that deletes, so a row committed in the
 * window after the check waits for the delete's commit instead of slipping in unsynced. Any mismatch: nothing is
 * deleted anywhere.
 */
import type { Connection } from "mysql2/promise";
import { discoverTable, queryRow } from "#adapters/mysql.ts";
import { strategyContext } from "#domain/cdc/index.ts";
import { orderBy } from "#domain/cdc/keyset.ts";
import { keyOfRow, quotedTable, textOf, timestampOfRow, type Position } from "#domain/cdc/types.ts";
import { CLEANUP_STRATEGIES, cleanupProblems, cleanupWindows, type CleanupCounts } from "#domain/cleanup.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import { buildTableSchema } from "#domain/table-schema.ts";
import { ceilingOf } from "#domain/watermark.ts";
import type { LoadContext } from "./load.ts";
import { readWatermark, withSource } from "./sync-context.ts";
import { staleStagedFiles } from "./staged-files.ts";
import { resetWatermark } from "./watermarks.ts";

export type CleanupReport = { table: string; ceiling: Position; counts: CleanupCounts; rowsDeleted: number; filesDeleted: number };

/** The rows stay: the message says which counts disagree, or what state the table is in. */
export class CleanupRefusedError extends Error {
  override readonly name = "CleanupRefusedError";
}

export async function cleanupSource(context: LoadContext, rowsProcessed: number): Promise<CleanupReport> {
  const { table } = context;
  if (!CLEANUP_STRATEGIES.includes(table.cdc_strategy)) {
    throw new CleanupRefusedError(`${table.key}: cleanup needs a cursor window (id_only, hybrid or timestamp_only), not ${table.cdc_strategy}`);
  }
  const watermark = await readWatermark(context);
  const state = watermark?.mysql_state;
  if (watermark === undefined || state?.status !== "success" || state.lease_expires_at !== null || watermark.s3_state.backup_s3_files.length > 0) {
    throw new CleanupRefusedError(
      `${table.key}: cleanup only after a successful, fully loaded run (now: extract ${state?.status ?? "never run"}, ` +
        `${watermark?.s3_state.backup_s3_files.length ?? 0} file(s) pending load, lease ${state?.lease_expires_at ?? "free"})`,
    );
  }
  const ceiling = ceilingOf(watermark);

  const { counts, rowsDeleted } = await withSource(context, (connection) => deleteSyncedRows(context, connection, ceiling, rowsProcessed), "write");
  const files = await staleStagedFiles(context, new Date(context.now().getTime() + 1000));
  const filesDeleted = await context.s3.delete(
    context.bucket,
    files.deletable.map((o) => o.key),
  );
  await resetWatermark(context);
  return { table: table.key, ceiling, counts, rowsDeleted, filesDeleted };
}

/**
 * Deletes the rows up to the ceiling in one transaction, after counting them under FOR UPDATE and checking the count
 * against the rows the run processed and the rows in Redshift; any mismatch rolls back.
 */
async function deleteSyncedRows(
  context: LoadContext,
  connection: Connection,
  ceiling: Position,
  rowsProcessed: number,
): Promise<{ counts: CleanupCounts; rowsDeleted: number }> {
  const { table } = context;
  const discovered = await discoverTable(connection, table.sourceSchema, table.sourceTable);
  const cursor = strategyContext(table, buildTableSchema(table, discovered.columns, discovered.primaryKey));
  const keys = { timestamp: cursor.timestamp, key: table.cdc_strategy === "timestamp_only" ? [] : cursor.key };
  const upToCeiling = cleanupWindows(table.cdc_strategy, keys, null, ceiling)?.mysql;
  if (upToCeiling === undefined) {
    throw new CleanupRefusedError(
      `${table.key}: no ceiling to clean up to, or a key Redshift cannot count in MySQL's order (text or binary): cleanup needs a timestamp or numeric key`,
    );
  }
  await connection.beginTransaction();
  try {
    const from = quotedTable(table);
    const counted = await queryRow(connection, { sql: `SELECT COUNT(*) FROM ${from} WHERE ${upToCeiling.sql} FOR UPDATE`, params: upToCeiling.params });
    const mysqlCount = Number(textOf(counted?.[0]) ?? "0");
    const order = [...(keys.timestamp === undefined ? [] : [keys.timestamp]), ...keys.key];
    const firstRow = await queryRow(connection, {
      sql: `SELECT ${orderBy(order)} FROM ${from} WHERE ${upToCeiling.sql} ORDER BY ${orderBy(order)} LIMIT 1`,
      params: upToCeiling.params,
    });
    const first: Position | null =
      firstRow === undefined
        ? null
        : {
            timestamp: timestampOfRow(cursor, firstRow, 0),
            key: keys.key.length === 0 ? null : keyOfRow(cursor, firstRow, keys.timestamp === undefined ? 0 : 1),
          };
    const redshiftWindow = cleanupWindows(table.cdc_strategy, keys, first, ceiling)?.redshift;
    const targetTable = `${quoteRedshift(context.pipeline.target.schema)}.${quoteRedshift(table.targetName)}`;
    const redshiftCount =
      mysqlCount === 0 ? 0 : Number((await context.redshift.query(`SELECT COUNT(*) FROM ${targetTable} WHERE ${redshiftWindow ?? "TRUE"}`)).rows[0]?.[0] ?? 0);
    const counts = { mysql: mysqlCount, processed: rowsProcessed, redshift: redshiftCount };
    const problems = cleanupProblems(table.key, counts);
    if (problems.length > 0) throw new CleanupRefusedError(problems.join("\n"));
    const [deleted] = await connection.query({ sql: `DELETE FROM ${from} WHERE ${upToCeiling.sql}`, values: upToCeiling.params });
    await connection.commit();
    return { counts, rowsDeleted: (deleted as { affectedRows: number }).affectedRows };
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    throw error;
  }
}
