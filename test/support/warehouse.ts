/** The local warehouse for a test file: a fresh Postgres database behind the local Redshift Data API endpoint. */
import { RedshiftDataClient } from "@aws-sdk/client-redshift-data";
import { afterAll, beforeAll } from "vitest";
import { RedshiftData, redshiftDataClientConfig } from "#adapters/redshift-data.ts";
import type { S3Store } from "#adapters/s3.ts";
import { startLocalRedshift, type LocalRedshift } from "#local/redshift/server.ts";
import { createPgDatabase, PG_URL } from "./postgres.ts";

export type WarehouseFixture = { server: LocalRedshift; client: RedshiftDataClient; redshift: RedshiftData };

/** Registers the file's hooks; `s3` is called in beforeAll (after the S3 fixture's own hook has run). */
export function useWarehouseFixture(database: string, s3: () => S3Store): WarehouseFixture {
  const fixture = {} as WarehouseFixture;
  let pgDatabase: Awaited<ReturnType<typeof createPgDatabase>> | undefined;
  beforeAll(async () => {
    pgDatabase = await createPgDatabase(database);
    fixture.server = await startLocalRedshift({ postgresUrl: PG_URL, s3: s3() });
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
