/**
 * Pure: the S3 layout contract (DESIGN.md §4). Data keys are deterministic per (run, table, chunk), so a retried
 * chunk rewrites its own key instead of adding a second copy of its rows.
 */
import type { PARTITION_STRATEGIES } from "#config/schema.ts";

export type PartitionStrategy = (typeof PARTITION_STRATEGIES)[number];

export type DataKeyParts = {
  isolationPrefix: string;
  stagingPrefix: string;
  partitionStrategy: PartitionStrategy;
  /** "schema.table" */
  table: string;
  /** The run's start (ISO): names every file of the run. */
  runStartedAt: string;
  chunk: number;
};

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

export function dataKey(parts: DataKeyParts): string {
  const at = new Date(parts.runStartedAt);
  const [year, month, day, hour] = [at.getUTCFullYear(), pad(at.getUTCMonth() + 1), pad(at.getUTCDate()), pad(at.getUTCHours())];
  const stamp = `${year}${month}${day}_${hour}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  const flat = parts.table.replace(".", "_");
  const file = `${flat}_${stamp}_batch_${pad(parts.chunk, 4)}.parquet`;
  const base = `${parts.isolationPrefix}${parts.stagingPrefix}`;
  switch (parts.partitionStrategy) {
    case "datetime":
      return `${base}year=${year}/month=${month}/day=${day}/hour=${hour}/${file}`;
    case "table":
      return `${base}table=${flat}/year=${year}/month=${month}/day=${day}/hour=${hour}/${file}`;
    case "hybrid":
      return `${base}year=${year}/month=${month}/table=${flat}/day=${day}/hour=${hour}/${file}`;
  }
}

export function watermarkKey(isolationPrefix: string, pipeline: string, table: string): string {
  return `${isolationPrefix}watermarks/v2/${pipeline}/${table}.json`;
}

export function manifestKey(isolationPrefix: string, pipeline: string, table: string, loadId: string): string {
  return `${isolationPrefix}manifests/${pipeline}/${table}/${loadId}.manifest`;
}

/** The schema a run extracts with, content-addressed: immutable, shared by the run's chunks and its load. */
export function schemaKey(isolationPrefix: string, pipeline: string, table: string, fingerprint: string): string {
  return `${isolationPrefix}schemas/${pipeline}/${table}/${fingerprint}.json`;
}
