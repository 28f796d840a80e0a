/**
 * Staged files of a table that may be deleted (`mrsync s3clean`): its Parquet files and manifests older than a
 * cutoff — never a file still pending load, and nothing while a run holds the table (its newest file may not be
 * listed in the watermark yet).
 */
import type { ObjectInfo } from "#adapters/s3.ts";
import { LeaseHeldError } from "#domain/watermark.ts";
import { readWatermark, type TableContext } from "./sync-context.ts";

export type StagedFiles = { deletable: ObjectInfo[]; pending: string[]; kept: number };

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export async function staleStagedFiles(context: TableContext, cutoff: Date): Promise<StagedFiles> {
  const { pipeline, table } = context;
  const watermark = (await readWatermark(context));
  const state = watermark?.mysql_state;
  if (state?.lease_expires_at !== null && state?.lease_expires_at !== undefined && Date.parse(state.lease_expires_at) > context.now().getTime()) {
    throw new LeaseHeldError(`${table.key}: run ${state.run_id ?? "?"} holds the table until ${state.lease_expires_at}; clean after it ends`);
  }
  const pending = new Set(watermark?.s3_state.backup_s3_files ?? []);
  // Data keys end in <schema>_<table>_<YYYYMMDD_HHMMSS>_batch_<NNNN>.parquet whatever the partition strategy.
  const ownFile = new RegExp(`/${escape(table.key.replace(".", "_"))}_\\d{8}_\\d{6}_batch_\\d{4,}\\.parquet$`);
  const data = (await context.s3.listAll(context.bucket, `${pipeline.s3.isolation_prefix}${pipeline.staging.prefix}`)).filter((o) => ownFile.test(`/${o.key}`));
  const manifests = await context.s3.listAll(context.bucket, `${pipeline.s3.isolation_prefix}manifests/${pipeline.name}/${table.key}/`);
  const candidates = [...data, ...manifests];
  const deletable = candidates.filter((o) => !pending.has(o.key) && o.lastModified !== undefined && o.lastModified < cutoff);
  return { deletable, pending: [...pending], kept: candidates.length - deletable.length };
}
