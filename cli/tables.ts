/** What most commands start from: the config, one pipeline, one of its tables, and the context of that table. */
import { findPipeline, loadConfig, type LoadedConfig } from "#config/loader.ts";
import type { ResolvedPipeline } from "#config/resolve.ts";
import { syncPorts } from "#services/environment.ts";
import { tableContext, type TableContext } from "#services/sync-context.ts";
import { CliError } from "./output.ts";

export async function config(configDir: string): Promise<LoadedConfig> {
  return loadConfig(configDir);
}

export async function pipeline(configDir: string, name: string): Promise<ResolvedPipeline> {
  return findPipeline((await loadConfig(configDir)).pipelines, name, configDir);
}

export function table(pipelineConfig: ResolvedPipeline, key: string): TableContext {
  if (!pipelineConfig.tables.some((t) => t.key === key)) {
    throw new CliError(`pipeline ${pipelineConfig.name} has no table ${key}; its tables: ${pipelineConfig.tables.map((t) => t.key).join(", ")}`);
  }
  return tableContext(syncPorts(pipelineConfig), pipelineConfig, key);
}
