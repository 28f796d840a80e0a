/**
 * Staged files of a table that may be deleted (`mrsync s3clean`): its Parquet files and manifests older than a
 * cutoff — never a file still pending load, and nothing while a run holds the table (its newest file may not be
 * listed in the watermark yet).
 */
import type { ObjectInfo } from "#adapters/s3.ts";
import { manifestsPrefix, stagedDataPrefix, tableDataFile } from "#domain/s3-layout.ts";
import { LeaseHeldError } from "#domain/watermark.ts";
import { readWatermark, type TableContext } from "./sync-context.ts";

export type StagedFiles = { deletable: ObjectInfo[]; pending: string[]; kept: number };

export async function staleStagedFiles(context: TableContext, cutoff: Date): Promise<StagedFiles> {
  const { pipeline, table } = context;
  const watermark = await readWatermark(context);
  const state = watermark?.mysql_state;
  if (state?.lease_expires_at !== null && state?.lease_expires_at !== undefined && Date.parse(state.lease_expires_at) > context.now().getTime()) {
    throw new LeaseHeldError(`${table.key}: run ${state.run_id ?? "?"} holds the table until ${state.lease_expires_at}; clean after it ends`);
  }
  const pending = new Set(watermark?.s3_state.backup_s3_files ?? []);
  const ownFile = tableDataFile(table.key);
  const data = (await context.s3.listAll(context.bucket, stagedDataPrefix(pipeline.s3.isolation_prefix, pipeline.staging.prefix))).filter((o) =>
    ownFile.test(o.key),
  );
  const manifests = await context.s3.listAll(context.bucket, manifestsPrefix(pipeline.s3.isolation_prefix, { pipeline: pipeline.name, table: table.key }));
  const candidates = [...data, ...manifests];
  const deletable = candidates.filter((o) => !pending.has(o.key) && o.lastModified !== undefined && o.lastModified < cutoff);
  return { deletable, pending: [...pending], kept: candidates.length - deletable.length };
}
