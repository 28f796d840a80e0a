/**
 * COPY from Parquet in the local Redshift, with Redshift's rules: the demo's type_coverage table goes MySQL →
 * extraction → Parquet on the local S3 → COPY … MANIFEST FORMAT AS PARQUET through the Data API, and every cell in
 * the warehouse is compared with MySQL's own rendering; files that Redshift would refuse fail the whole COPY.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { beforeAll, describe, expect, it } from "vitest";
import type { RedshiftData } from "#adapters/redshift-data.ts";
import { createTableSql } from "#domain/redshift-ddl.ts";
import type { TableSchema } from "#domain/table-schema.ts";
import { seedDemo } from "#local/demo/seed.ts";
import { loadSchema } from "#services/sync-context.ts";
import { contextFor, MYSQL_URL, pipelineFromYaml, runExtraction, STAGING_BUCKET, useExtractionFixture } from "../../../support/extraction.ts";
import { tableDifferences } from "../../../support/compare.ts";
import { useWarehouseFixture } from "../../../support/warehouse.ts";

const DATABASE = "mrsync_test_copy";
const ROLE = "arn:aws:iam::000000000000:role/local-redshift-copy";
const fx = useExtractionFixture(DATABASE);
const warehouse = useWarehouseFixture(DATABASE, () => fx.s3.store);
let redshift: RedshiftData;
let schema: TableSchema;
let files: string[];

beforeAll(async () => {
  await seedDemo({ mysqlUrl: MYSQL_URL, database: DATABASE, typeCoverage: 1_200, orders: 5, merchants: 5 });
  redshift = warehouse.redshift;
  const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.type_coverage: { cdc_strategy: id_only, cdc_id_column: id, processing: { batch_size: 500 } }`);
  const context = contextFor(fx.s3, pipeline, `${DATABASE}.type_coverage`);
  const outcome = await runExtraction(context, "run-copy");
  schema = await loadSchema(context, outcome.begin.schemaKey);
  files = outcome.chunks.flatMap((c) => (c.file === undefined ? [] : [c.file]));
});

async function manifest(name: string, keys: readonly string[], extra: { url: string; mandatory: boolean }[] = []): Promise<string> {
  const entries = await Promise.all(
    keys.map(async (key) => ({
      url: `s3://${STAGING_BUCKET}/${key}`,
      mandatory: true,
      meta: { content_length: (await fx.s3.store.head(STAGING_BUCKET, key))?.size ?? 0 },
    })),
  );
  const key = `manifests/${name}.manifest`;
  await fx.s3.store.putJson(STAGING_BUCKET, key, { entries: [...entries, ...extra] });
  return `s3://${STAGING_BUCKET}/${key}`;
}

const copy = (table: string, url: string, options = "") => `COPY ${table} FROM '${url}' IAM_ROLE '${ROLE}' ${options} FORMAT AS PARQUET`;

describe("COPY FROM Parquet (local Redshift)", () => {
  it("loads every type of type_coverage exactly: each cell equals MySQL's", async () => {
    await redshift.query(createTableSql(schema, { schema: "public", table: "type_coverage" }, { dist_key: "id", sort_keys: ["id"] }));
    const state = await redshift.wait(await redshift.submit(copy("public.type_coverage", await manifest("types", files), "MANIFEST")));
    expect(state.resultRows).toBe(1_200);

    expect(await tableDifferences(fx.db.admin, `${DATABASE}.type_coverage`, redshift, "public.type_coverage", schema)).toEqual([]);
  });

  it("accepts only the options Redshift accepts for Parquet", async () => {
    await redshift.query('CREATE TABLE opts (id DECIMAL(20,0), "c_tinyint" SMALLINT)');
    await expect(redshift.query(copy("opts", `s3://${STAGING_BUCKET}/${files[0] ?? ""}`, "MAXERROR 10"))).rejects.toThrow(
      /COPY from this file format only accepts IAM_ROLE, CREDENTIALS, STATUPDATE, MANIFEST, ACCEPTINVCHARS, FILLRECORD, EXPLICIT_IDS and SERIALIZETOJSON parameters \(got MAXERROR\)/,
    );
  });

  it("fails the whole COPY on a column count mismatch, rolling back the batch", async () => {
    await redshift.query(
      createTableSql({ ...schema, columns: [...schema.columns, { ...schema.columns[1]!, name: "extra" }] }, { schema: "public", table: "too_wide" }),
    );
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

  it("loads only the Parquet forms Redshift documents: FLBA decimals, INT(16) for SMALLINT, local timestamps (files by DuckDB, an independent writer)", async () => {
    // One file per column form, written by DuckDB: the forms Redshift documents, and the ones it does not.
    const forms = {
      decimal_flba: "1.50::DECIMAL(30,2)",
      decimal_int64: "1.50::DECIMAL(10,2)",
      smallint_int16: "7::SMALLINT",
      smallint_int32: "7::INTEGER",
      timestamp_local: "TIMESTAMP '2024-02-29 23:59:59.123456'",
      timestamp_utc: "TIMESTAMPTZ '2024-02-29 23:59:59.123456+00'",
    };
    const targets: Record<keyof typeof forms, string> = {
      decimal_flba: "NUMERIC(30,2)",
      decimal_int64: "NUMERIC(10,2)",
      smallint_int16: "SMALLINT",
      smallint_int32: "SMALLINT",
      timestamp_local: "TIMESTAMP",
      timestamp_utc: "TIMESTAMP",
    };
    const instance = await DuckDBInstance.create(":memory:");
    const duck = await instance.connect();
    const dir = await mkdtemp(path.join(tmpdir(), "mrsync-duck-"));
    const outcome: Record<string, string> = {};
    try {
      await duck.run("SET TimeZone = 'UTC'");
      for (const [name, expression] of Object.entries(forms)) {
        const file = path.join(dir, `${name}.parquet`);
        await duck.run(`COPY (SELECT ${expression} AS v) TO '${file}' (FORMAT PARQUET)`);
        await fx.s3.store.uploadStream(STAGING_BUCKET, `forms/${name}.parquet`, createReadStream(file));
        await redshift.query(`CREATE TABLE form_${name} (v ${targets[name as keyof typeof forms]})`);
        outcome[name] = await redshift.query(copy(`form_${name}`, `s3://${STAGING_BUCKET}/forms/${name}.parquet`)).then(
          () => "loaded",
          (error: unknown) => (/incompatible Parquet schema/.test(String(error)) ? "refused" : String(error)),
        );
      }
    } finally {
      duck.closeSync();
      instance.closeSync();
      await rm(dir, { recursive: true, force: true });
    }
    expect(outcome).toEqual({
      decimal_flba: "loaded",
      decimal_int64: "refused",
      smallint_int16: "loaded",
      smallint_int32: "refused",
      timestamp_local: "loaded",
      timestamp_utc: "refused",
    });
    expect((await redshift.query("SELECT v::text FROM form_timestamp_local")).rows).toEqual([["2024-02-29 23:59:59.123456"]]);
  });

  it("our writer's files use those forms: every DECIMAL as FIXED_LEN_BYTE_ARRAY, SMALLINT as INT(16)/INT(8), TIMESTAMP local", async () => {
    const instance = await DuckDBInstance.create(":memory:");
    const duck = await instance.connect();
    const dir = await mkdtemp(path.join(tmpdir(), "mrsync-duck-"));
    try {
      const file = path.join(dir, "ours.parquet");
      await writeFile(file, await fx.s3.store.getStream(STAGING_BUCKET, files[0] ?? ""));
      const rows = (
        await duck.runAndReadAll(`SELECT name, type, converted_type, logical_type FROM parquet_schema('${file}') WHERE num_children IS NULL`)
      ).getRows() as string[][];
      const byName = new Map(rows.map(([name = "", ...rest]) => [name, rest]));
      const formOf = (name: string) => byName.get(name) ?? [];
      const decimals = schema.columns.filter((c) => c.redshiftType.startsWith("DECIMAL"));
      const smallints = schema.columns.filter((c) => c.redshiftType === "SMALLINT");
      const timestamps = schema.columns.filter((c) => c.redshiftType === "TIMESTAMP");
      expect(decimals.map((c) => [c.name, formOf(c.name)[0]])).toEqual(decimals.map((c) => [c.name, "FIXED_LEN_BYTE_ARRAY"]));
      expect(smallints.filter((c) => !["INT_16", "INT_8"].includes(formOf(c.name)[1] ?? "")).map((c) => c.name)).toEqual([]);
      expect(timestamps.filter((c) => !/isAdjustedToUTC=0/.test(formOf(c.name)[2] ?? "")).map((c) => c.name)).toEqual([]);
      expect(timestamps.length).toBeGreaterThan(0);
      expect(schema.columns.filter((c) => c.redshiftType === "SMALLINT").length).toBeGreaterThan(0);
      expect(
        schema.columns.filter((c) => c.redshiftType.startsWith("DECIMAL(") && /^DECIMAL\(([1-9]|1[0-8]),/.test(c.redshiftType)).length,
        "a decimal of ≤ 18 digits",
      ).toBeGreaterThan(0);
    } finally {
      duck.closeSync();
      instance.closeSync();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails when a mandatory manifest entry is missing", async () => {
    const url = await manifest("missing", files.slice(0, 1), [{ url: `s3://${STAGING_BUCKET}/nope.parquet`, mandatory: true }]);
    await expect(redshift.query(copy("public.type_coverage", url, "MANIFEST"))).rejects.toThrow(
      /Manifest file entry s3:\/\/staging\/nope.parquet is mandatory but was not found/,
    );
  });
});
