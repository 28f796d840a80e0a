/** The local warehouse for a test file: a fresh Postgres database behind the local Redshift Data API endpoint. */
import { RedshiftDataClient } from "@aws-sdk/client-redshift-data";
import { afterAll, beforeAll } from "vitest";
import { RedshiftData, RedshiftStatementError, redshiftDataClientConfig } from "#adapters/redshift-data.ts";
import { loadConfig } from "#config/loader.ts";
import type { ResolvedPipeline } from "#config/resolve.ts";
import { warehouseGrants } from "#domain/warehouse-grants.ts";
import type { S3Store } from "#adapters/s3.ts";
import { startLocalRedshift, type LocalRedshift } from "#local/redshift/server.ts";
import type { LocalIdentities } from "#local/redshift/identities.ts";
import { createPgDatabase, PG_URL } from "./postgres.ts";

export type WarehouseFixture = { server: LocalRedshift; client: RedshiftDataClient; redshift: RedshiftData };

/** Registers the file's hooks; `s3` is called in beforeAll (after the S3 fixture's own hook has run). */
export function useWarehouseFixture(database: string, s3: () => S3Store, identities?: LocalIdentities): WarehouseFixture {
  const fixture = {} as WarehouseFixture;
  let pgDatabase: Awaited<ReturnType<typeof createPgDatabase>> | undefined;
  beforeAll(async () => {
    pgDatabase = await createPgDatabase(database);
    fixture.server = await startLocalRedshift({ postgresUrl: PG_URL, s3: s3(), ...(identities === undefined ? {} : { identities }) });
    fixture.client = new RedshiftDataClient({
      ...redshiftDataClientConfig({ region: "us-east-1" }, { AWS_ENDPOINT_URL_REDSHIFT_DATA: fixture.server.endpoint }),
      credentials: { accessKeyId: "local", secretAccessKey: "local-secret" },
    });
    fixture.redshift = new RedshiftData(fixture.client, { workgroup_name: "local", database, schema: "public" });
  });
  afterAll(async () => {
    fixture.client.destroy();
    await fixture.server.close();
    await pgDatabase?.drop();
  });
  return fixture;
}

/** The pipeline of a fixture's config directory (one pipeline file). */
export async function testPipeline(configDir: string): Promise<ResolvedPipeline> {
  const [pipeline] = (await loadConfig(configDir)).pipelines;
  if (pipeline === undefined) throw new Error(`no pipeline in ${configDir}`);
  return pipeline;
}

/**
 * Runs `mrsync grants`' script as an administrator would: every statement, skipping as its comments say the user that
 * exists already and the ALTER TABLE … OWNER of a table that does not exist yet.
 */
export async function applyGrants(admin: RedshiftData, pipeline: ResolvedPipeline, databaseUser: string): Promise<void> {
  for (const { sql } of warehouseGrants(pipeline, databaseUser).statements) {
    try {
      await admin.query(sql);
    } catch (error) {
      const skippable =
        error instanceof RedshiftStatementError && /already exists|does not exist/.test(error.message) && /^(CREATE USER|ALTER TABLE)/.test(sql);
      if (!skippable) throw error;
    }
  }
}
