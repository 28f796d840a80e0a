/** `mrsync connections test [-c NAME]` — MySQL, S3 and Redshift reachability, with timings and clear reasons. */
import type { Command } from "commander";
import { connectSource, queryRow } from "#adapters/mysql.ts";
import { redshiftData } from "#adapters/redshift-data.ts";
import { textOf } from "#domain/cdc/types.ts";
import { s3Store } from "#adapters/s3.ts";
import { credentialResolver } from "#adapters/secrets.ts";
import type { ConnectionsFile } from "#config/schema.ts";
import { sourceZone } from "#services/check-sources.ts";
import { withSource } from "#services/sync-context.ts";
import { CliError, EXIT, type Output } from "../output.ts";
import { config } from "../tables.ts";

type Check = { kind: "source" | "staging" | "target"; name: string; ok: boolean; ms: number; detail: string };

async function timed(kind: Check["kind"], name: string, probe: () => Promise<string>): Promise<Check> {
  const started = performance.now();
  try {
    const detail = await probe();
    return { kind, name, ok: true, ms: Math.round(performance.now() - started), detail };
  } catch (error) {
    return {
      kind,
      name,
      ok: false,
      ms: Math.round(performance.now() - started),
      detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    };
  }
}

function checks(connections: ConnectionsFile, only: string | undefined): (() => Promise<Check>)[] {
  /** One check per configured entry of a kind (only the one named by -c, when given). */
  const each = <T>(kind: Check["kind"], entries: Record<string, T>, probe: (name: string, entry: T) => Promise<string>) =>
    Object.entries(entries)
      .filter(([name]) => only === undefined || only === name)
      .map(
        ([name, entry]) =>
          () =>
            timed(kind, name, () => probe(name, entry)),
      );
  return [
    ...each("source", connections.sources, async (name, source) => {
      const session = { connect: async () => connectSource(source, await credentialResolver().credentials(name, source)) };
      return withSource(session, async (connection) => {
        const row = await queryRow(connection, { sql: "SELECT VERSION()", params: [] });
        return `MySQL ${textOf(row?.[0]) ?? "?"} at ${source.host}:${source.port}; ${await sourceZone(connection, source)}`;
      });
    }),
    ...each("staging", connections.staging, async (_name, staging) => {
      const bucket = staging.bucket ?? process.env.STAGING_BUCKET;
      if (bucket === undefined) throw new Error("no bucket in config and STAGING_BUCKET is not set (the stack's bucket: stack output StagingBucketName)");
      await s3Store().listAll(bucket, `${staging.prefix}__mrsync_probe__/`);
      return `s3://${bucket}/${staging.prefix} listable`;
    }),
    ...each("target", connections.targets, async (_name, target) => {
      const { rows } = await redshiftData(target).query("SELECT current_database()");
      // The database the Data API was asked for (config); the server's own name for it only when it differs.
      const reported = String(rows[0]?.[0] ?? "");
      const differs = reported !== "" && reported !== target.database ? ` (the server calls it ${reported})` : "";
      return `Data API → ${target.workgroup_name === undefined ? `cluster ${target.cluster_identifier ?? ""}` : `workgroup ${target.workgroup_name}`}, database ${target.database}${differs}, schema ${target.schema}`;
    }),
  ];
}

export function connectionsCommands(program: Command, output: () => Output): void {
  program
    .command("connections")
    .description("check the connections in connections.yml")
    .command("test")
    .description("reach every source (MySQL), staging bucket (S3) and target (Redshift Data API), or the one named")
    .option("-c, --connection <name>", "only this connection")
    .action(async (options: { connection?: string }) => {
      const out = output();
      const { connections } = await config(out.options.configDir);
      const planned = checks(connections, options.connection);
      if (planned.length === 0) throw new CliError(`no connection named ${options.connection ?? ""} in connections.yml`);
      const results: Check[] = [];
      for (const check of planned) results.push(await check());
      out.result(results, () =>
        results.map((r) => `${r.ok ? "ok  " : "FAIL"}  ${r.kind.padEnd(7)} ${r.name.padEnd(20)} ${String(r.ms).padStart(6)} ms  ${r.detail}`).join("\n"),
      );
      if (results.some((r) => !r.ok)) process.exitCode = EXIT.failed;
    });
}
