/**
 * COPY from Parquet in the local Redshift, with Redshift's rules: the demo's type_coverage table goes MySQL →
 * extraction → Parquet on the local S3 → COPY … MANIFEST FORMAT AS PARQUET through the Data API, and every cell in
 * the warehouse is compared with MySQL's own rendering; files that Redshift would refuse fail the whole COPY.
 */
import { RedshiftDataClient } from "@aws-sdk/client-redshift-data";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedshiftData, redshiftDataClientConfig } from "#adapters/redshift-data.ts";
import { createTableSql } from "#domain/redshift-ddl.ts";
import type { TableColumn, TableSchema } from "#domain/table-schema.ts";
import { seedDemo } from "#local/demo/seed.ts";
import { startLocalRedshift, type LocalRedshift } from "#local/redshift/server.ts";
import { loadSchema } from "#services/sync-context.ts";
import { contextFor, MYSQL_URL, pipelineFromYaml, runExtraction, STAGING_BUCKET, useExtractionFixture } from "../support/extraction.ts";
import { createPgDatabase, PG_URL } from "../support/postgres.ts";

const DATABASE = "mrsync_test_copy";
const ROLE = "arn:aws:iam::000000000000:role/local-redshift-copy";
const fx = useExtractionFixture(DATABASE);
let pgDatabase: Awaited<ReturnType<typeof createPgDatabase>>;
let server: LocalRedshift;
let client: RedshiftDataClient;
let redshift: RedshiftData;
let schema: TableSchema;
let files: string[];

beforeAll(async () => {
  await seedDemo({ mysqlUrl: MYSQL_URL, database: DATABASE, typeCoverage: 1_200, orders: 5, merchants: 5 });
  pgDatabase = await createPgDatabase(DATABASE);
  server = await startLocalRedshift({ postgresUrl: PG_URL, s3: fx.s3.store });
  client = new RedshiftDataClient({
    ...redshiftDataClientConfig({ region: "us-east-1" }, { AWS_ENDPOINT_URL_REDSHIFT_DATA: server.endpoint }),
    credentials: { accessKeyId: "local", secretAccessKey: "local-secret" },
  });
  redshift = new RedshiftData(client, { workgroup_name: "local", database: DATABASE, schema: "public" });
  const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.type_coverage: { cdc_strategy: id_only, cdc_id_column: id, processing: { batch_size: 500 } }`);
  const context = contextFor(fx.s3, pipeline, `${DATABASE}.type_coverage`);
  const outcome = await runExtraction(context, "run-copy");
  schema = await loadSchema(context, outcome.begin.schemaKey);
  files = outcome.chunks.flatMap((c) => (c.file === undefined ? [] : [c.file]));
});
afterAll(async () => {
  client.destroy();
  await server.close();
  await pgDatabase.drop();
});

async function manifest(name: string, keys: readonly string[], extra: { url: string; mandatory: boolean }[] = []): Promise<string> {
  const entries = await Promise.all(
    keys.map(async (key) => ({ url: `s3://${STAGING_BUCKET}/${key}`, mandatory: true, meta: { content_length: (await fx.s3.store.head(STAGING_BUCKET, key))?.size ?? 0 } })),
  );
  const key = `manifests/${name}.manifest`;
  await fx.s3.store.putJson(STAGING_BUCKET, key, { entries: [...entries, ...extra] });
  return `s3://${STAGING_BUCKET}/${key}`;
}

const copy = (table: string, url: string, options = "") => `COPY ${table} FROM '${url}' IAM_ROLE '${ROLE}' ${options} FORMAT AS PARQUET`;

/** The same value as MySQL and Postgres each render it. */
function renderings(column: TableColumn): { mysql: string; postgres: string; float?: "float32" | "float64"; hex?: true } {
  const m = `\`${column.source}\``;
  const p = `"${column.name}"`;
  const notZero = `${m} IS NOT NULL AND YEAR(${m}) <> 0 AND MONTH(${m}) <> 0 AND DAYOFMONTH(${m}) <> 0`;
  switch (column.value.kind) {
    case "int32":
    case "int64":
    case "decimal":
      return { mysql: `CAST(${m} + 0 AS CHAR)`, postgres: `${p}::text` };
    case "boolean":
      return { mysql: `CAST(${m} + 0 AS CHAR)`, postgres: `${p}::int::text` };
    case "float":
      return { mysql: `CAST(CAST(${m} AS DOUBLE) AS CHAR)`, postgres: `${p}::text`, float: "float32" };
    case "double":
      return { mysql: `CAST(${m} AS CHAR)`, postgres: `${p}::text`, float: "float64" };
    case "date":
      return { mysql: `IF(${notZero}, DATE_FORMAT(${m}, '%Y-%m-%d'), NULL)`, postgres: `to_char(${p}, 'YYYY-MM-DD')` };
    case "timestamp":
      return { mysql: `IF(${notZero}, CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${m}) AS CHAR), NULL)`, postgres: `(extract(epoch from ${p}) * 1000000)::numeric(30,0)::text` };
    case "string":
      return { mysql: column.sourceType.startsWith("decimal") ? `CAST(${m} AS CHAR)` : m, postgres: p };
    case "binary":
      return { mysql: column.value.wkb === true ? `HEX(ST_AsBinary(${m}))` : `HEX(${m})`, postgres: `upper(encode(${p}, 'hex'))` };
  }
}

describe("COPY FROM Parquet (local Redshift)", () => {
  it("loads every type of type_coverage exactly: each cell equals MySQL's", async () => {
    await redshift.query(createTableSql(schema, { schema: "public", table: "type_coverage" }, { dist_key: "id", sort_keys: ["id"] }));
    const state = await redshift.wait(await redshift.submit(copy("public.type_coverage", await manifest("types", files), "MANIFEST")));
    expect(state.resultRows).toBe(1_200);

    const plan = schema.columns.map((column) => ({ column, ...renderings(column) }));
    const [expected] = await fx.db.admin.query({ sql: `SELECT ${plan.map((p) => p.mysql).join(", ")} FROM ${DATABASE}.type_coverage ORDER BY id`, rowsAsArray: true });
    const actual = await redshift.query(`SELECT ${plan.map((p) => p.postgres).join(", ")} FROM public.type_coverage t ORDER BY t.id`);
    const rows = expected as (string | null)[][];
    expect(actual.rows).toHaveLength(rows.length);
    const mismatches: string[] = [];
    rows.forEach((row, r) => {
      plan.forEach((p, c) => {
        const want = row[c] ?? null;
        const got = actual.rows[r]?.[c] ?? null;
        const same =
          want === null || got === null
            ? want === got
            : p.float === "float32"
              ? Math.fround(Number(want)) === Math.fround(Number(got))
              : p.float === "float64"
                ? Number(want) === Number(got)
                : want === got;
        if (!same) mismatches.push(`row ${r} ${p.column.name}: MySQL ${JSON.stringify(want)} vs Redshift ${JSON.stringify(got)}`);
      });
    });
    expect(mismatches.slice(0, 20)).toEqual([]);
  });

  it("accepts only the options Redshift accepts for Parquet", async () => {
    await redshift.query('CREATE TABLE opts (id DECIMAL(20,0), "c_tinyint" SMALLINT)');
    await expect(redshift.query(copy("opts", `s3://${STAGING_BUCKET}/${files[0] ?? ""}`, "MAXERROR 10"))).rejects.toThrow(
      /COPY from this file format only accepts IAM_ROLE, CREDENTIALS, STATUPDATE, MANIFEST, ACCEPTINVCHARS, FILLRECORD, EXPLICIT_IDS and SERIALIZETOJSON parameters \(got MAXERROR\)/,
    );
  });

  it("fails the whole COPY on a column count mismatch, rolling back the batch", async () => {
    await redshift.query(createTableSql({ ...schema, columns: [...schema.columns, { ...schema.columns[1]!, name: "extra" }] }, { schema: "public", table: "too_wide" }));
    const url = await manifest("mismatch", files);
    await expect(redshift.query(["INSERT INTO too_wide (id) VALUES (1)", copy("too_wide", url, "MANIFEST")])).rejects.toThrow(
      /statement 2: COPY too_wide .*: ERROR: Spectrum Scan Error: file 's3:\/\/staging\/.*' has 44 columns but table too_wide has 45|has 44 columns but table too_wide has 45/,
    );
    expect((await redshift.query("SELECT count(*) FROM too_wide")).rows).toEqual([[0]]);
  });

  it("fails on a VARCHAR value longer in bytes than its column, naming column, size and file", async () => {
    const narrow = schema.columns.map((c) => (c.name === "c_varchar" ? { ...c, redshiftType: "VARCHAR(8)" } : c));
    await redshift.query(createTableSql({ ...schema, columns: narrow }, { schema: "public", table: "narrow" }));
    await expect(redshift.query(copy("narrow", await manifest("narrow", files), "MANIFEST"))).rejects.toThrow(
      /String length exceeds DDL length: column 'c_varchar' \(VARCHAR\(8\)\) got a value of \d+ bytes in row \d+ of 's3:\/\/staging\//,
    );
    expect((await redshift.query("SELECT count(*) FROM narrow")).rows).toEqual([[0]]);
  });

  it("fails on an incompatible column type", async () => {
    const wrong = schema.columns.map((c) => (c.name === "c_varchar" ? { ...c, redshiftType: "INTEGER" } : c));
    await redshift.query(createTableSql({ ...schema, columns: wrong }, { schema: "public", table: "wrong_type" }));
    await expect(redshift.query(copy("wrong_type", await manifest("wrong", files), "MANIFEST"))).rejects.toThrow(
      /incompatible Parquet schema for column \d+ 'c_varchar': BYTE_ARRAY \(UTF8\) cannot load into integer/,
    );
  });

  it("fails when a mandatory manifest entry is missing", async () => {
    const url = await manifest("missing", files.slice(0, 1), [{ url: `s3://${STAGING_BUCKET}/nope.parquet`, mandatory: true }]);
    await expect(redshift.query(copy("public.type_coverage", url, "MANIFEST"))).rejects.toThrow(/Manifest file entry s3:\/\/staging\/nope.parquet is mandatory but was not found/);
  });
});
