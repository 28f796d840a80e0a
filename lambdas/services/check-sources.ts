/**
 * `mrsync config validate --check-sources`: every table of the pipelines checked against its source as Begin checks
 * it — the schema from the config and INFORMATION_SCHEMA, then the refusals of domain/cdc/cursor-rules.ts — without
 * reading a row. One connection per source; every problem of every table reported at once.
 */
import type { Connection } from "mysql2/promise";
import { connectSource, readOldestWriteTransaction, readSourceClock, SourceTableError } from "#adapters/mysql.ts";
import { credentialResolver } from "#adapters/secrets.ts";
import type { ResolvedPipeline } from "#config/resolve.ts";
import type { SourceConnection } from "#config/schema.ts";
import { UnsafeCursorError } from "#domain/cdc/cursor-rules.ts";
import { TableSchemaError } from "#domain/table-schema.ts";
import { checkedTableSchema } from "./begin.ts";

/** What Begin refuses before reading a row: reported per table, not thrown. */
const REFUSALS = [UnsafeCursorError, TableSchemaError, SourceTableError];

export type SourceProblem = { pipeline: string; file: string; table: string; yamlPath: string; problem: string };

/**
 * The zone a source's DATETIME cursors are compared in (configured, or the server's own) and whether the transaction
 * horizon can be read: what `config validate --check-sources` and `connections test` print.
 */
export async function sourceZone(connection: Connection, source: Pick<SourceConnection, "time_zone">): Promise<string> {
  const clock = await readSourceClock(connection);
  const zone = source.time_zone === undefined ? `${clock.serverZone} (the server's own zone)` : `${source.time_zone} (time_zone)`;
  const horizon = await readOldestWriteTransaction(connection);
  return `DATETIME cursors in ${zone}, TIMESTAMP in UTC; transaction horizon ${"unreadable" in horizon ? `not readable: ${horizon.unreadable}` : "readable"}`;
}

export async function checkSources(
  pipelines: readonly ResolvedPipeline[],
): Promise<{ tables: number; problems: SourceProblem[]; zones: Record<string, string> }> {
  const problems: SourceProblem[] = [];
  const zones: Record<string, string> = {};
  let tables = 0;
  for (const pipeline of pipelines) {
    let connection: Connection;
    try {
      connection = await connectSource(pipeline.source, await credentialResolver().credentials(pipeline.sourceName, pipeline.source));
    } catch (error) {
      const problem = `source ${pipeline.sourceName} (${pipeline.source.host}:${pipeline.source.port}) unreachable: ${error instanceof Error ? error.message : String(error)}`;
      problems.push({ pipeline: pipeline.name, file: pipeline.file, table: "", yamlPath: "pipeline.source", problem });
      continue;
    }
    try {
      zones[pipeline.sourceName] ??= await sourceZone(connection, pipeline.source);
      for (const table of pipeline.tables) {
        tables++;
        try {
          await checkedTableSchema({ table }, connection);
        } catch (error) {
          if (!REFUSALS.some((refusal) => error instanceof refusal)) throw error;
          for (const problem of (error as Error).message.split("\n"))
            problems.push({ pipeline: pipeline.name, file: pipeline.file, table: table.key, yamlPath: `tables["${table.key}"]`, problem });
        }
      }
    } finally {
      await connection.end().catch(() => undefined);
    }
  }
  return { tables, problems, zones };
}
