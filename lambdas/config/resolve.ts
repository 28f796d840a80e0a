/**
 * Pure: turns validated files into the resolved model the engine uses — table settings merged over pipeline
 * defaults over product defaults, connection names replaced by the connections themselves.
 */
import { parseTableKey } from "./table-key.ts";
import {
  PROCESSING_DEFAULTS,
  VALIDATION_DEFAULTS,
  targetTableName,
  type CdcStrategy,
  type ConnectionsFile,
  type PipelineFile,
  type Processing,
  type SourceConnection,
  type StagingLocation,
  type TableSettings,
  type TargetConnection,
  type Validation,
} from "./schema.ts";

export type ResolvedTable = Omit<TableSettings, "processing" | "validation" | "target_name"> & {
  /** "schema.table" as written in the pipeline file. */
  key: string;
  sourceSchema: string;
  sourceTable: string;
  targetName: string;
  cdc_strategy: CdcStrategy;
  processing: Processing;
  validation: Validation;
};

export type ResolvedPipeline = {
  name: string;
  file: string;
  schedule: string | undefined;
  /** When mode reconcile runs (its own EventBridge schedule). */
  reconcileSchedule: string | undefined;
  sourceName: string;
  source: SourceConnection;
  targetName: string;
  target: TargetConnection;
  stagingName: string;
  staging: StagingLocation;
  s3: PipelineFile["pipeline"]["s3"];
  completionBucket: string | undefined;
  maxParallelTables: number;
  tables: ResolvedTable[];
  /** connections.yml's price overrides for the cost estimate. */
  prices: ConnectionsFile["prices"];
};

export function resolvePipeline(file: string, parsed: PipelineFile, connections: ConnectionsFile): ResolvedPipeline {
  const { pipeline } = parsed;
  const source = connections.sources[pipeline.source];
  const target = connections.targets[pipeline.target];
  const staging = connections.staging[pipeline.staging];
  if (source === undefined || target === undefined || staging === undefined) {
    // The loader checks references before resolving; reaching this is a programming error.
    throw new Error(`resolvePipeline(${file}): unresolved connection reference`);
  }
  const pipelineProcessing: Processing = { ...PROCESSING_DEFAULTS, ...pipeline.processing };
  const pipelineValidation: Validation = { ...VALIDATION_DEFAULTS, ...pipeline.validation };
  const tables = Object.entries(parsed.tables).map(([key, settings]): ResolvedTable => {
    const { processing, validation, target_name, ...rest } = settings;
    const name = parseTableKey(key);
    // The schema refused a malformed key before; reaching this is a programming error.
    if ("problem" in name) throw new Error(`resolvePipeline(${file}): table key ${key}: ${name.problem}`);
    return {
      ...rest,
      key,
      sourceSchema: name.schema,
      sourceTable: name.table,
      targetName: targetTableName(key, target_name),
      full_sync_mode: settings.cdc_strategy === "full_sync" ? (settings.full_sync_mode ?? "replace") : undefined,
      processing: { ...pipelineProcessing, ...processing },
      validation: { ...pipelineValidation, ...validation },
    };
  });
  return {
    name: pipeline.name,
    file,
    schedule: pipeline.schedule,
    reconcileSchedule: pipeline.reconcile_schedule,
    sourceName: pipeline.source,
    source,
    targetName: pipeline.target,
    target,
    stagingName: pipeline.staging,
    staging,
    s3: pipeline.s3,
    completionBucket: pipeline.completion?.bucket,
    maxParallelTables: pipelineProcessing.max_parallel_tables,
    tables,
    prices: connections.prices,
  };
}
