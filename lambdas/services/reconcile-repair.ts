/**
 * Repairing what reconciliation found, through the normal exactly-once path:
 *
 * - rows missing or different in Redshift are re-extracted from MySQL by key (their buckets read once, the differing
 *   keys kept) into one Parquet file staged like a chunk's, and listed as pending load; the next load (a
 *   `redshift_only` run) merges them by primary key through the ledger, so a crash anywhere repairs once;
 * - rows only in Redshift follow the table's delete_policy: `report` lists them, `soft` marks them
 *   (_mrsync_deleted_at), `hard` deletes them — after checking once more that MySQL does not hold them — in one
 *   transaction with a ledger row.
 */
import { createHash } from "node:crypto";
import { streamQuery } from "#adapters/mysql.ts";
import { quotedTable, selectExpression } from "#domain/cdc/types.ts";
import { RedshiftStatementError } from "#adapters/redshift-data.ts";
import { bucketOf, rowText, rowTextOf, SOFT_DELETE_COLUMN } from "#domain/reconcile/canonical.ts";
import { ledgerTable, sqlString } from "#domain/load-plan.ts";
import { ensureLedger } from "./ledger.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import { stageRepairFiles } from "#domain/watermark.ts";
import type { ReconcileCounts } from "#shared/steps.ts";
import { tableChunkFile } from "./chunk-file.ts";
import type { LoadContext } from "./load.ts";
import {
  findDifferences,
  keyParts,
  partText,
  rangeWhere,
  ReconcileRefusedError,
  type Differences,
  type RangesMode,
  type ReconcileReport,
} from "./reconcile.ts";
import { saveSchema, updateWatermark, withSource } from "./sync-context.ts";
import { inBatches } from "./reconcile-ranges.ts";

/** Repair files take this chunk number: no run reaches it, so a repair never overwrites a run's file. */
export const REPAIR_CHUNK = 9999;
const BUCKETS_PER_READ = 200;
/** At most this many buckets named in a delete's WHERE (≤ 7 bytes each), beside its keys' hashes. */
const BUCKETS_PER_DELETE = 2_000;
/**
 * The most rows one reconcile deletes without --allow-mass-delete: more is what a table whose source rows are
 * deleted on purpose (the temp-table pattern, an archive job) looks like, and deleting them would lose the history.
 */
export const MASS_DELETE = { rows: 10, share: 0.05 } as const;
const KEYS_PER_DELETE = 500;

const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex");
/** MD5 of a key's canonical text, as MD5(rowText(key)) computes it in either engine. */
const keyHash = (key: Differences["shape"]["key"], parts: readonly string[]) => md5(rowTextOf(key, parts));

export type StagedRepair = { file: string | undefined; rows: number };

export async function stageRepair(context: LoadContext, found: Differences): Promise<StagedRepair> {
  if (found.toLoad.size === 0) return { file: undefined, rows: 0 };
  if (found.schema.primaryKey.length === 0) {
    throw new ReconcileRefusedError(
      `${context.table.key}: no primary key in Redshift — a load appends, so a re-extracted row would land twice; repair it by hand`,
    );
  }
  const { schema } = found;
  const { key } = found.shape;
  const schemaKey = await saveSchema(context, schema);
  const file = tableChunkFile(context, context.now().toISOString(), REPAIR_CHUNK, schema.columns, schemaKey);
  const fileKey = file.key;

  const width = schema.columns.length;
  const select = [...schema.columns.map(selectExpression), ...keyParts("mysql", key)].join(", ");
  // A table compared in key ranges is read in them too, a connection each, at once: the bucket filter uses no index,
  // so each read scans its part of the table, not all of it. Their rows go to the one file as they come.
  const parts = found.ranges ?? [undefined];
  try {
    for (let i = 0; i < found.differingBuckets.length; i += BUCKETS_PER_READ) {
      const only = found.differingBuckets.slice(i, i + BUCKETS_PER_READ);
      const sql = `SELECT ${select} FROM ${quotedTable(context.table)} WHERE ${bucketOf("mysql", found.shape.hash, key, found.shape.buckets)} IN (${only.join(", ")})`;
      await inBatches(parts, context.table.processing.max_parallel_ranges, (range) => {
        const where = range === undefined ? undefined : rangeWhere(key, range);
        return withSource(context, (connection) =>
          streamQuery(
            connection,
            { sql: where === undefined ? sql : `${sql} AND ${where.sql}`, params: where?.params ?? [] },
            {
              row(raw) {
                if (found.toLoad.has(JSON.stringify(raw.slice(width).map(partText)))) file.push(raw.slice(0, width));
                return true;
              },
              backpressure: () => file.backpressure(),
            },
          ),
        );
      });
    }
  } catch (error) {
    await file.abort(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  const rows = file.rows;
  const uploaded = await file.finish();
  if (uploaded === undefined) return { file: undefined, rows: 0 };
  await updateWatermark(context, (current) => stageRepairFiles(current, [fileKey], context.now()));
  return { file: fileKey, rows };
}

/**
 * The rows only in Redshift that MySQL still does not hold (checked again now), per delete_policy: `hard` deletes
 * them, `soft` sets their _mrsync_deleted_at (the column added on first use); either with a ledger row in the same
 * transaction. Returns the rows deleted or marked.
 */
export async function deleteExtras(context: LoadContext, found: Differences, options: { policy: "hard" | "soft"; allowMassDelete?: boolean }): Promise<number> {
  const { policy } = options;
  if (found.extra.length === 0) return 0;
  const limit = Math.max(MASS_DELETE.rows, Math.floor(MASS_DELETE.share * found.report.rows.redshift));
  if (found.extra.length > limit && options.allowMassDelete !== true) {
    throw new ReconcileRefusedError(
      `${context.table.key}: reconcile would delete ${found.extra.length} of ${found.report.rows.redshift} rows in Redshift (more than ${MASS_DELETE.rows} and ${MASS_DELETE.share * 100}%); ` +
        "a table whose MySQL rows are deleted on purpose (the temp-table pattern, an archive job) must keep delete_policy: report. " +
        "If the deletes are real, run again with --allow-mass-delete",
    );
  }
  const { key } = found.shape;
  const hashes = found.extra.map((parts) => keyHash(key, parts));
  // A row inserted in MySQL since the comparison is not extra any more: never delete it.
  const present = new Set<string>();
  await withSource(context, async (connection) => {
    for (let i = 0; i < hashes.length; i += KEYS_PER_DELETE) {
      const batch = hashes.slice(i, i + KEYS_PER_DELETE);
      const [rows] = await connection.query({
        sql: `SELECT MD5(${rowText("mysql", key)}) FROM ${quotedTable(context.table)} WHERE MD5(${rowText("mysql", key)}) IN (${batch.map(() => "?").join(", ")})`,
        values: batch,
        rowsAsArray: true,
      });
      for (const row of rows as unknown[][]) present.add(partText(row[0]));
    }
  });
  const gone = hashes.filter((h) => !present.has(h));
  if (gone.length === 0) return 0;
  const target = `${quoteRedshift(context.pipeline.target.schema)}.${quoteRedshift(context.table.targetName)}`;
  const ledger = `${quoteRedshift(context.pipeline.target.schema)}.${quoteRedshift(ledgerTable(context.table.targetName))}`;
  // A table last loaded before it had its own ledger: made before the deletes' transaction locks it.
  await ensureLedger(context);
  const marker = quoteRedshift(SOFT_DELETE_COLUMN);
  if (policy === "soft") {
    try {
      await context.redshift.query(`ALTER TABLE ${target} ADD COLUMN ${marker} TIMESTAMP`);
    } catch (error) {
      if (!(error instanceof RedshiftStatementError) || !/already exists/i.test(error.message)) throw error;
    }
  }
  let deleted = 0;
  for (let i = 0; i < gone.length; i += KEYS_PER_DELETE) {
    const batch = gone.slice(i, i + KEYS_PER_DELETE);
    const deleteId = `reconcile_${policy}_delete_${md5(`${context.table.key}|${batch.join(",")}`).slice(0, 24)}`;
    const notApplied = `NOT EXISTS (SELECT 1 FROM ${ledger} WHERE load_id = ${sqlString(deleteId)})`;
    // The bucket test only spares MD5 on rows outside the differing buckets: left out where the list would be long.
    const inBuckets =
      found.differingBuckets.length <= BUCKETS_PER_DELETE
        ? `${bucketOf("redshift", found.shape.hash, key, found.shape.buckets)} IN (${found.differingBuckets.join(", ")}) AND `
        : "";
    const where = `${inBuckets}MD5(${rowText("redshift", key)}) IN (${batch.map(sqlString).join(", ")})${policy === "soft" ? ` AND ${marker} IS NULL` : ""}`;
    const { rows } = await context.redshift.query([
      `LOCK ${ledger}`,
      `SELECT count(*) FROM ${target} WHERE ${where} AND ${notApplied}`,
      policy === "hard"
        ? `DELETE FROM ${target} WHERE ${where} AND ${notApplied}`
        : `UPDATE ${target} SET ${marker} = GETDATE() WHERE ${where} AND ${notApplied}`,
      `INSERT INTO ${ledger} (load_id, pipeline, table_name, files, rows_loaded, loaded_at) SELECT ${sqlString(deleteId)}, ${sqlString(context.pipeline.name)}, ${sqlString(context.table.key)}, 0, ${batch.length}, GETDATE() WHERE ${notApplied}`,
    ]);
    deleted += Number(rows[0]?.[0] ?? 0);
  }
  return deleted;
}

export type Repair = { report: ReconcileReport; staged: StagedRepair; deleted: number; counts: ReconcileCounts };

/**
 * A table compared and repaired, short of the load: rows only in Redshift deleted or marked per delete_policy (first,
 * so a refused mass delete stages nothing), the rows to re-load staged. `mrsync reconcile` and mode reconcile's step
 * (ExtractChunk's place, where the source and the staging area are reachable) both run this; a load then merges.
 */
export async function reconcileAndStage(context: LoadContext, options: { allowMassDelete?: boolean; ranges?: RangesMode } = {}): Promise<Repair> {
  const found = await findDifferences(context, options.ranges === undefined ? {} : { ranges: options.ranges });
  const policy = context.table.delete_policy;
  const deleted = policy === "hard" || policy === "soft" ? await deleteExtras(context, found, { policy, ...options }) : 0;
  const staged = await stageRepair(context, found);
  const { report } = found;
  return {
    report,
    staged,
    deleted,
    counts: { compared: report.rows.mysql, missing: report.missing, extra: report.extra, different: report.different, reloaded: staged.rows, deleted },
  };
}
