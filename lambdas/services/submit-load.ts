/**
 * SubmitLoad: the table's next pending files (watermark `backup_s3_files`) into Redshift, exactly once — the manifest
 * (domain/manifest.ts), schema evolution, and one BatchExecuteStatement (the plan of domain/load-plan.ts) that the
 * state machine polls; CompleteLoad (complete-load.ts) records its end. The load id is a hash of the file set, and the
 * ledger in Redshift guards every change, so a load retried — even after its transaction committed and before the
 * watermark moved — is never applied twice.
 */
import { createHash } from "node:crypto";
import { cursorKeyOf } from "#domain/cdc/index.ts";
import { loadPlan, planSchemaChanges } from "#domain/load-plan.ts";
import { manifestOf } from "#domain/manifest.ts";
import { manifestKey } from "#domain/s3-layout.ts";
import { TableSchemaError } from "#domain/table-schema.ts";
import { loadClientToken } from "#domain/watermark.ts";
import type { Load } from "#shared/steps.ts";
import { existingColumns, loadMode, type LoadContext } from "./load.ts";
import { appliedRows, ensureLedger } from "./ledger.ts";

export { TargetSchemaMissingError } from "./ledger.ts";
import { loadSchema, PASS_METADATA, readWatermark, SCHEMA_METADATA } from "./sync-context.ts";

/** A pending file is gone from S3: loading the rest would silently drop its rows. */
export class PendingFileMissingError extends Error {
  override readonly name = "PendingFileMissingError";
}

type PendingHead = { key: string; info: { metadata?: Record<string, string> } | undefined };

/**
 * The files of the next load: the oldest pending ones, in the order they were read, while they share a schema and a
 * pass. A window read again is a pass of its own: its files hold keys earlier files hold too, and id_only's cursor
 * (the key itself) cannot tell the merge which copy is newer — so the copy read later lands by a later load.
 */
export function loadGroup<T extends PendingHead>(heads: readonly T[]): T[] {
  const tag = (head: PendingHead) => `${head.info?.metadata?.[SCHEMA_METADATA] ?? ""}\n${head.info?.metadata?.[PASS_METADATA] ?? ""}`;
  const first = heads[0];
  if (first === undefined) return [];
  const end = heads.findIndex((head) => tag(head) !== tag(first));
  return heads.slice(0, end < 0 ? heads.length : end);
}

/**
 * Prepares and submits the next load: the oldest pending files written with one schema (files of different runs may
 * carry different schemas; each group is one load). Undefined when nothing is pending.
 */
export async function submitLoad(context: LoadContext): Promise<Load | undefined> {
  const watermark = await readWatermark(context);
  const pending = watermark?.s3_state.backup_s3_files ?? [];
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
  const group = loadGroup(heads);
  if (schemaKey === "")
    throw new TableSchemaError(`${context.table.key}: pending file ${heads[0]?.key ?? ""} carries no schema key (${SCHEMA_METADATA} metadata)`);
  const schema = await loadSchema(context, schemaKey);
  const files = group.map((h) => h.key);
  const loadId = `load_${createHash("sha256")
    .update([...files].sort().join("\n"))
    .digest("hex")
    .slice(0, 24)}`;
  const target = { schema: context.pipeline.target.schema, table: context.table.targetName };

  const submittedAt = context.now().toISOString();
  const manifest = manifestKey(context.pipeline.s3.isolation_prefix, context.pipeline.name, context.table.key, loadId);
  await context.s3.putJson(
    context.bucket,
    manifest,
    manifestOf(
      context.bucket,
      group.map((h) => ({ key: h.key, size: h.info?.size ?? 0 })),
    ),
  );
  const load = { loadId, manifestKey: manifest, schemaKey, files: files.length, submittedAt };

  // Ledger first: a load it already holds is done (a crash between the commit and the watermark write).
  await ensureLedger(context);
  if ((await appliedRows(context, loadId)) !== undefined) return { ...load, statementId: null, insertIndex: -1 };

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
  const clientToken = loadClientToken(watermark, loadId);
  const statementId = await context.redshift.submit(plan.statements, { name: `mrsync ${context.pipeline.name} ${context.table.key}`, clientToken });
  return { ...load, statementId, insertIndex: plan.insertIndex };
}

/** The step: the next load submitted, or `files: 0` when nothing is pending. */
export async function submitLoadStep(context: LoadContext): Promise<Load> {
  return (
    (await submitLoad(context)) ?? {
      loadId: "",
      manifestKey: "",
      schemaKey: "",
      statementId: null,
      insertIndex: -1,
      files: 0,
      submittedAt: context.now().toISOString(),
    }
  );
}
