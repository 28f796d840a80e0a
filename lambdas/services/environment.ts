/**
 * The handlers' wiring: config from MRSYNC_CONFIG_DIR (bundled next to the handler in Lambda, the repo's config/
 * locally), the staging bucket (config, or STAGING_BUCKET — the stack's bucket), and the ports of a table's run.
 * Endpoints come from the SDK's environment (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_REDSHIFT_DATA): the same code
 * runs against AWS and against the local stand-ins.
 */
import path from "node:path";
import { connectSource } from "#adapters/mysql.ts";
import { redshiftData } from "#adapters/redshift-data.ts";
import { s3Store } from "#adapters/s3.ts";
import { credentialResolver } from "#adapters/secrets.ts";
import { findPipeline, loadConfig, type LoadedConfig } from "#config/loader.ts";
import { CONFIG_RESOLVED_ENV, COPY_ROLE_ENV } from "#config/env.ts";
import { ConfigError } from "#config/errors.ts";
import type { ResolvedPipeline } from "#config/resolve.ts";
import type { LoadContext } from "./load.ts";
import { tableContext, type SyncPorts } from "./sync-context.ts";

const configs = new Map<string, Promise<LoadedConfig>>();

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MRSYNC_CONFIG_DIR ?? path.join(process.cwd(), "config");
}

/** The config, read once per container (a deploy replaces the bundled files and with them the container). */
export function loadedConfig(dir = configDir()): Promise<LoadedConfig> {
  let loaded = configs.get(dir);
  if (loaded === undefined) {
    // Deployed, the bundled config was resolved at synth (lib/config-snapshot.ts): a `${VAR}` left in it is refused,
    // never resolved from this function's environment, which is not the one the stack's grants were made from.
    loaded = loadConfig(dir, process.env[CONFIG_RESOLVED_ENV] === "true" ? {} : process.env);
    configs.set(dir, loaded);
    // A failed read is not cached: the next invocation reports the problem again (or succeeds after a fix).
    loaded.catch(() => configs.delete(dir));
  }
  return loaded;
}

export async function pipelineNamed(name: string, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedPipeline> {
  const dir = configDir();
  const pipeline = findPipeline((await loadedConfig(dir)).pipelines, name, dir);
  // The stack's COPY role (createCopyRole) for a target that names none; a copy_role_arn in config wins.
  const copyRole = env[COPY_ROLE_ENV];
  return pipeline.target.copy_role_arn !== undefined || copyRole === undefined || copyRole === ""
    ? pipeline
    : { ...pipeline, target: { ...pipeline.target, copy_role_arn: copyRole } };
}

export function stagingBucket(pipeline: ResolvedPipeline, env: NodeJS.ProcessEnv = process.env): string {
  const bucket = pipeline.staging.bucket ?? env.STAGING_BUCKET;
  if (bucket === undefined || bucket === "") {
    throw new ConfigError([
      {
        file: pipeline.file,
        yamlPath: "pipeline.staging",
        line: undefined,
        column: undefined,
        message: `staging ${pipeline.stagingName} names no bucket and STAGING_BUCKET is not set; give staging.${pipeline.stagingName}.bucket in connections.yml, or deploy with the stack's bucket`,
      },
    ]);
  }
  return bucket;
}

export function syncPorts(pipeline: ResolvedPipeline): SyncPorts {
  return {
    s3: s3Store(),
    bucket: stagingBucket(pipeline),
    now: () => new Date(),
    async connect(access) {
      const credentials = await credentialResolver().credentials(pipeline.sourceName, pipeline.source);
      return connectSource(pipeline.source, credentials, access);
    },
  };
}

/** Everything a table's steps need: extraction ports, the watermark, and the Data API of the pipeline's target. */
export function loadContext(pipeline: ResolvedPipeline, table: string, deadline?: number): LoadContext {
  return { ...tableContext(syncPorts(pipeline), pipeline, table), redshift: redshiftData(pipeline.target, deadline) };
}
