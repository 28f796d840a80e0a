/**
 * Pure: the S3 layout contract (docs/design.md §4), the one module that spells a key or a prefix — for the writers
 * (extraction, load, markers), the readers (s3clean, the CLI) and the stack (bucket prefixes, IAM grants, lifecycle).
 * Data keys are deterministic per (run, table, chunk), so a retried chunk rewrites its own key instead of adding a
 * second copy of its rows.
 */
import { createHash } from "node:crypto";
import type { PARTITION_STRATEGIES } from "#config/schema.ts";
import { isPlainTableKey, parseTableKey } from "#config/table-key.ts";

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
  /** A range's file (a window read as key ranges): numbered in its range, `…_batch_<NNNN>_r<RR>.parquet`. */
  range?: number;
};

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** 2025-09-12T14:30:22.135Z → 20250912_143022 (UTC): names a run's files and its marker folder. */
export function runStamp(iso: string): string {
  const at = new Date(iso);
  return `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}_${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
}

/**
 * A table key as it appears in keys: itself when plain (`schema.table` of letters, digits, `_`, `$` — every key of
 * the layout's contract); otherwise each name with any other character as `_`, then a hash of the key, so
 * shop.`Order Items` (shop.Order_Items-1c4f…) and shop.Order_Items stay apart and no key holds a space or backtick.
 */
export function tablePath(table: string): string {
  if (isPlainTableKey(table)) return table;
  const parsed = parseTableKey(table);
  const names = "problem" in parsed ? [table] : [parsed.schema, parsed.table];
  const hash = createHash("sha256").update(table).digest("hex").slice(0, 8);
  return `${names.map((n) => n.replace(/[^A-Za-z0-9_$-]/g, "_")).join(".")}-${hash}`;
}

/** `schema_table`: how data file names and table= partitions spell a table. */
const flatName = (table: string) => tablePath(table).replace(".", "_");

/** The staged Parquet files of every table of a pipeline: the pipeline's isolation prefix, then the staging prefix. */
export const stagedDataPrefix = (isolationPrefix: string, stagingPrefix: string) => `${isolationPrefix}${stagingPrefix}`;

/**
 * A table's data files, whatever the partition strategy: `<schema>_<table>_<YYYYMMDD_HHMMSS>_batch_<NNNN>.parquet`,
 * and a range's `…_batch_<NNNN>_r<RR>.parquet`.
 */
export function tableDataFile(table: string): RegExp {
  const flat = flatName(table).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|/)${flat}_\\d{8}_\\d{6}_batch_\\d{4,}(_r\\d{2,})?\\.parquet$`);
}

export function dataKey(parts: DataKeyParts): string {
  const at = new Date(parts.runStartedAt);
  const [year, month, day, hour] = [at.getUTCFullYear(), pad(at.getUTCMonth() + 1), pad(at.getUTCDate()), pad(at.getUTCHours())];
  const flat = flatName(parts.table);
  const range = parts.range === undefined ? "" : `_r${pad(parts.range)}`;
  const file = `${flat}_${runStamp(parts.runStartedAt)}_batch_${pad(parts.chunk, 4)}${range}.parquet`;
  const base = stagedDataPrefix(parts.isolationPrefix, parts.stagingPrefix);
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
  return `${isolationPrefix}watermarks/v2/${pipeline}/${tablePath(table)}.json`;
}

/** Every manifest of a pipeline's isolation prefix, or of one table. */
export function manifestsPrefix(isolationPrefix: string, table?: { pipeline: string; table: string }): string {
  return `${isolationPrefix}manifests/${table === undefined ? "" : `${table.pipeline}/${tablePath(table.table)}/`}`;
}

export function manifestKey(isolationPrefix: string, pipeline: string, table: string, loadId: string): string {
  return `${manifestsPrefix(isolationPrefix, { pipeline, table })}${loadId}.manifest`;
}

/** The completion bucket's root of every marker folder (its lifecycle rule and the functions' grant). */
export const COMPLETION_MARKERS_PREFIX = "completion_markers/";

/** A run's marker folder: `completion_markers/<pipeline>/<table>/<YYYYMMDD_HHMMSS>/` (the run's start). */
export function markerPrefix(pipeline: string, table: string, runStartedAt: string): string {
  return `${COMPLETION_MARKERS_PREFIX}${pipeline}/${tablePath(table)}/${runStamp(runStartedAt)}/`;
}

/** Where a table's marker folders are listed: all, or those of one day (`YYYYMMDD`). */
export function markerSearchPrefix(pipeline: string, table: string, day?: string): string {
  return `${COMPLETION_MARKERS_PREFIX}${pipeline}/${tablePath(table)}/${day === undefined ? "" : `${day}_`}`;
}

/** The schema a run extracts with, content-addressed: immutable, shared by the run's chunks and its load. */
export function schemaKey(isolationPrefix: string, pipeline: string, table: string, fingerprint: string): string {
  return `${isolationPrefix}schemas/${pipeline}/${tablePath(table)}/${fingerprint}.json`;
}

/**
 * A run's key-range plan for one table (docs/design.md §14): the JSON array of ranges the Distributed Map reads, one
 * per run (a resumed window writes the ranges it has left under its own run's start).
 */
export function rangePlanKey(isolationPrefix: string, pipeline: string, table: string, runStartedAt: string): string {
  return `${rangePlansPrefix(isolationPrefix)}${pipeline}/${tablePath(table)}/${runStamp(runStartedAt)}.json`;
}

/** Every range plan of a pipeline's isolation prefix (the state machine's role reads them: its ItemReader). */
export const rangePlansPrefix = (isolationPrefix: string) => `${isolationPrefix}plans/`;

/** A table's reconciliation in key ranges (docs/design.md §13): its plan, and each range's summary beside it. */
export function reconcilePlanKey(isolationPrefix: string, pipeline: string, table: string): string {
  return `${isolationPrefix}reconcile/${pipeline}/${tablePath(table)}/plan.json`;
}

/** One range's summary of the table's reconciliation plan (rewritten by each plan: a table keeps one per range). */
export function reconcileRangeKey(isolationPrefix: string, pipeline: string, table: string, index: number): string {
  return `${isolationPrefix}reconcile/${pipeline}/${tablePath(table)}/range-${pad(index)}.json`;
}
