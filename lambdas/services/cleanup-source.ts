/**
 * The temp-table pattern (`mrsync sync pipeline … --then-cleanup-source`): after a validated, fully loaded run,
 * delete the synced rows from the MySQL staging table, then the table's loaded staged files, then reset its
 * watermark. MySQL's count is taken under FOR UPDATE in the transaction that deletes, so a row committed in the
 * window after the check waits for the delete's commit instead of slipping in unsynced. Any mismatch: nothing is
 * deleted anywhere.
 */
import { queryRow } from "#adapters/mysql.ts";
import { quotedTable, textOf, type Position } from "#domain/cdc/types.ts";
import { CLEANUP_STRATEGIES, cleanupProblems, cleanupWindow, type CleanupCounts } from "#domain/cleanup.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import { targetNameOfSource } from "#domain/table-schema.ts";
import { ceilingOf } from "#domain/watermark.ts";
import type { LoadContext } from "./load.ts";
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
  const watermark = (await context.watermarks.get(context.watermarkKey))?.watermark;
  const state = watermark?.mysql_state;
  if (watermark === undefined || state?.status !== "success" || state.lease_expires_at !== null || watermark.s3_state.backup_s3_files.length > 0) {
    throw new CleanupRefusedError(
      `${table.key}: cleanup only after a successful, fully loaded run (now: extract ${state?.status ?? "never run"}, ` +
        `${watermark?.s3_state.backup_s3_files.length ?? 0} file(s) pending load, lease ${state?.lease_expires_at ?? "free"})`,
    );
  }
  const ceiling = ceilingOf(watermark);
  const source = { timestamp: table.cdc_timestamp_column, id: table.cdc_id_column };
  const target = {
    timestamp: table.cdc_timestamp_column === undefined ? undefined : targetNameOfSource(table, table.cdc_timestamp_column),
    id: table.cdc_id_column === undefined ? undefined : targetNameOfSource(table, table.cdc_id_column),
  };
  const upToCeiling = cleanupWindow("mysql", table.cdc_strategy, source, { timestamp: null, id: null }, ceiling);
  if (upToCeiling === undefined) throw new CleanupRefusedError(`${table.key}: the watermark holds no ceiling to clean up to`);

  const connection = await context.connect();
  try {
    await connection.beginTransaction();
    const from = quotedTable(table);
    const counted = await queryRow(connection, { sql: `SELECT COUNT(*) FROM ${from} WHERE ${upToCeiling} FOR UPDATE`, params: [] });
    const mysqlCount = Number(textOf(counted?.[0]) ?? "0");
    const order = [source.timestamp, source.id].filter((c): c is string => c !== undefined).map((c) => `\`${c}\``);
    const firstRow = await queryRow(connection, { sql: `SELECT ${source.timestamp === undefined ? "NULL" : `\`${source.timestamp}\``}, ${source.id === undefined ? "NULL" : `\`${source.id}\``} FROM ${from} WHERE ${upToCeiling} ORDER BY ${order.join(", ")} LIMIT 1`, params: [] });
    const first: Position = { timestamp: textOf(firstRow?.[0]), id: textOf(firstRow?.[1]) };
    const redshiftWindow = cleanupWindow("redshift", table.cdc_strategy, target, first, ceiling);
    const targetTable = `${quoteRedshift(context.pipeline.target.schema)}.${quoteRedshift(table.targetName)}`;
    const redshiftCount = mysqlCount === 0 ? 0 : Number((await context.redshift.query(`SELECT COUNT(*) FROM ${targetTable} WHERE ${redshiftWindow ?? "FALSE"}`)).rows[0]?.[0] ?? 0);
    const counts = { mysql: mysqlCount, processed: rowsProcessed, redshift: redshiftCount };
    const problems = cleanupProblems(table.key, counts);
    if (problems.length > 0) throw new CleanupRefusedError(problems.join("\n"));
    const [deleted] = await connection.query({ sql: `DELETE FROM ${from} WHERE ${upToCeiling}` });
    await connection.commit();
    const files = await staleStagedFiles(context, new Date(context.now().getTime() + 1000));
    const filesDeleted = await context.s3.delete(context.bucket, files.deletable.map((o) => o.key));
    await resetWatermark(context);
    return { table: table.key, ceiling, counts, rowsDeleted: (deleted as { affectedRows: number }).affectedRows, filesDeleted };
  } catch (error) {
    await connection.rollback().catch(() => undefined);
    throw error;
  } finally {
    await connection.end();
  }
}
