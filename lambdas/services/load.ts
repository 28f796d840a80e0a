/**
 * Load: the table's pending files (watermark `backup_s3_files`) into Redshift, exactly once. submitLoad writes the
 * manifest, evolves the target table, and submits one BatchExecuteStatement (the plan of domain/load-plan.ts);
 * completeLoad, once the statement FINISHED, moves the files to `processed_s3_files` and adds `rows_loaded`.
 * The load id is a hash of the file set, and the ledger in Redshift guards every change, so a load retried — even
 * after its transaction committed and before the watermark moved — is never applied twice.
 */
import { createHash } from "node:crypto";
import type { RedshiftData, StatementState } from "#adapters/redshift-data.ts";
import { RedshiftStatementError, statementEnded } from "#adapters/redshift-data.ts";
import { cursorKeyOf } from "#domain/cdc/index.ts";
import { ledgerLookupSql, ledgerTableSql, loadPlan, planSchemaChanges, sqlString, type ExistingColumn, type LoadMode } from "#domain/load-plan.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import { manifestKey } from "#domain/s3-layout.ts";
import { TableSchemaError } from "#domain/table-schema.ts";
import { loadClientToken, markLoaded, recordFailedLoad } from "#domain/watermark.ts";
import { loadSchema, SCHEMA_METADATA, watermarkIdentity, type TableContext } from "./sync-context.ts";

export type LoadContext = TableContext & { redshift: RedshiftData };

export type LoadSubmission = {
  loadId: string;
  manifestKey: string;
  files: string[];
  schemaKey: string;
  /** undefined when the ledger shows this load was applied already (nothing submitted). */
  statementId: string | undefined;
  insertIndex: number;
};

/** A pending file is gone from S3: loading the rest would silently drop its rows. */
export class PendingFileMissingError extends Error {
  override readonly name = "PendingFileMissingError";
}

/** The target schema is missing and the database user may not create it: an administrator's step, named. */
export class TargetSchemaMissingError extends Error {
  override readonly name = "TargetSchemaMissingError";
}

/**
 * The target schema exists (created where the database user may), and its ledger too, before any load's transaction
 * locks it. Loads starting together race to create them: the losers' "already exists" means they are there.
 */
async function ensureLedger(context: LoadContext, schema: string): Promise<void> {
  try {
    await context.redshift.query(ledgerTableSql(schema));
  } catch (error) {
    if (error instanceof RedshiftStatementError && /schema .* does not exist/i.test(error.message)) {
      await createSchema(context, schema);
      await ensureLedger(context, schema);
      return;
    }
    if (!(error instanceof RedshiftStatementError) || !/already exists|duplicate key value/i.test(error.message)) throw error;
    await context.redshift.query(ledgerLookupSql(schema, ""));
  }
}

async function createSchema(context: LoadContext, schema: string): Promise<void> {
  try {
    await context.redshift.query(`CREATE SCHEMA IF NOT EXISTS ${quoteRedshift(schema)}`);
  } catch (error) {
    if (!(error instanceof RedshiftStatementError) || !/permission denied|not authorized|must be/i.test(error.message)) throw error;
    throw new TargetSchemaMissingError(
      `target schema ${schema} does not exist in database ${context.pipeline.target.database}, and the sync's database user may not create it. ` +
        `An administrator runs what \`mrsync grants -p ${context.pipeline.name}\` prints (CREATE SCHEMA IF NOT EXISTS ${quoteRedshift(schema)}; GRANT USAGE, CREATE ON SCHEMA …), then re-run`,
    );
  }
}

/** How a load applies its rows: full_sync replaces or appends; a table with a key merges; one without appends. */
export function loadMode(context: LoadContext, hasKey: boolean): LoadMode {
  if (context.table.cdc_strategy === "full_sync") return context.table.full_sync_mode === "append" ? "append" : "replace";
  return hasKey ? "merge" : "append";
}

export async function existingColumns(context: Pick<LoadContext, "redshift" | "pipeline" | "table">): Promise<ExistingColumn[]> {
  const { rows } = await context.redshift.query(
    `SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale FROM information_schema.columns
      WHERE table_schema = ${sqlString(context.pipeline.target.schema)} AND table_name = ${sqlString(context.table.targetName)} ORDER BY ordinal_position`,
  );
  const number = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  return rows.map(([name, dataType, maxLength, precision, scale]) => ({
    name: String(name),
    dataType: String(dataType),
    maxLength: number(maxLength),
    precision: number(precision),
    scale: number(scale),
  }));
}

/**
 * Prepares and submits the next load: the oldest pending files written with one schema (files of different runs may
 * carry different schemas; each group is one load). Undefined when nothing is pending.
 */
export async function submitLoad(context: LoadContext): Promise<LoadSubmission | undefined> {
  const stored = await context.watermarks.get(context.watermarkKey);
  const pending = stored?.watermark.s3_state.backup_s3_files ?? [];
  if (pending.length === 0) return undefined;

  const heads = await Promise.all(pending.map(async (key) => ({ key, info: await context.s3.head(context.bucket, key) })));
  const missing = heads.filter((h) => h.info === undefined).map((h) => h.key);
  if (missing.length > 0) {
    throw new PendingFileMissingError(
      `${context.table.key}: ${missing.length} pending file(s) are missing from s3://${context.bucket}/ (first: ${missing[0] ?? ""}); ` +
        "restore them, or reset the watermark to re-extract (mrsync watermark reset)",
    );
  }
  const schemaKey = heads[0]?.info?.metadata?.[SCHEMA_METADATA] ?? "";
  const group = heads.filter((h) => (h.info?.metadata?.[SCHEMA_METADATA] ?? "") === schemaKey);
  if (schemaKey === "") throw new TableSchemaError(`${context.table.key}: pending file ${heads[0]?.key ?? ""} carries no schema key (${SCHEMA_METADATA} metadata)`);
  const schema = await loadSchema(context, schemaKey);
  const files = group.map((h) => h.key);
  const loadId = `load_${createHash("sha256").update([...files].sort().join("\n")).digest("hex").slice(0, 24)}`;
  const target = { schema: context.pipeline.target.schema, table: context.table.targetName };

  // The manifest lists exactly these files, with their sizes (Redshift reads meta.content_length).
  const manifest = manifestKey(context.pipeline.s3.isolation_prefix, context.pipeline.name, context.table.key, loadId);
  await context.s3.putJson(context.bucket, manifest, {
    entries: group.map((h) => ({ url: `s3://${context.bucket}/${h.key}`, mandatory: true, meta: { content_length: h.info?.size ?? 0 } })),
  });

  // Ledger first: a load it already holds is done (a crash between the commit and the watermark write).
  await ensureLedger(context, target.schema);
  const applied = await context.redshift.query(ledgerLookupSql(target.schema, loadId));
  if (applied.rows.length > 0) return { loadId, manifestKey: manifest, files, schemaKey, statementId: undefined, insertIndex: -1 };

  // Schema evolution runs before the batch: Redshift cannot widen a column inside a transaction block.
  const existing = await existingColumns(context);
  if (existing.length > 0) {
    const changes = planSchemaChanges(schema, target, existing);
    if (changes.problems.length > 0) throw new TableSchemaError(changes.problems.join("\n"));
    for (const statement of changes.statements) await context.redshift.query(statement);
  }

  const newestFirst = [context.table.cdc_timestamp_column, ...cursorKeyOf(context.table, schema)]
    .filter((c): c is string => c !== undefined)
    .map((source) => schema.columns.find((c) => c.source.toLowerCase() === source.toLowerCase())?.name ?? source);
  const plan = loadPlan({
    schema,
    target,
    design: context.table,
    mode: loadMode(context, schema.primaryKey.length > 0),
    manifestUrl: `s3://${context.bucket}/${manifest}`,
    copyRoleArn: context.pipeline.target.copy_role_arn,
    loadId,
    pipeline: context.pipeline.name,
    table: context.table.key,
    files: files.length,
    newestFirst,
  });
  const clientToken = loadClientToken(stored?.watermark, loadId);
  const statementId = await context.redshift.submit(plan.statements, { name: `mrsync ${context.pipeline.name} ${context.table.key}`, clientToken });
  return { loadId, manifestKey: manifest, files, schemaKey, statementId, insertIndex: plan.insertIndex };
}

/**
 * After the load's statement ended: FINISHED moves its files from pending to processed in the watermark; FAILED or
 * ABORTED throws Redshift's error and leaves the files pending. Returns the rows the load inserted.
 */
export async function completeLoad(context: LoadContext, submission: LoadSubmission, state?: StatementState): Promise<number> {
  let rows: number;
  if (submission.statementId === undefined) {
    const applied = await context.redshift.query(ledgerLookupSql(context.pipeline.target.schema, submission.loadId));
    rows = Number(applied.rows[0]?.[0] ?? 0);
  } else {
    const final = state ?? (await context.redshift.describe(submission.statementId));
    if (!statementEnded(final)) throw new Error(`load ${submission.loadId}: statement ${final.id} is still ${final.status}; poll until it ends`);
    if (final.status !== "FINISHED") {
      await context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) =>
        recordFailedLoad(current, submission.loadId, final.id, context.now()),
      );
      throw new RedshiftStatementError(final);
    }
    rows = Math.max(0, final.subStatementRows[submission.insertIndex] ?? 0);
  }
  await context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) =>
    markLoaded(current, submission.files, rows, submission.loadId, context.now()),
  );
  return rows;
}
