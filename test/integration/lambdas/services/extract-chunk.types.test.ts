/**
 * Every type row of docs/design.md §7 round-trips exactly: the demo's type_coverage table is extracted to Parquet and
 * each cell, read back by DuckDB (an independent reader), is compared with what MySQL itself computes for it.
 */
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "#local/demo/seed.ts";
import type { TableColumn } from "#domain/table-schema.ts";
import { loadSchema } from "#services/sync-context.ts";
import { startTestS3, type LocalS3Fixture } from "../../../support/local-s3.ts";
import { contextFor, MYSQL_URL, ParquetReader, pipelineFromYaml, runExtraction, type RunOutcome } from "../../../support/extraction.ts";

const DATABASE = "mrsync_test_types";
const ROWS = 1_200;
let s3: LocalS3Fixture;
let reader: ParquetReader;
let mysqlConnection: mysql.Connection;
let outcome: RunOutcome;
let columns: TableColumn[];
let files: string[];

beforeAll(async () => {
  s3 = await startTestS3(["staging"]);
  reader = await ParquetReader.create();
  await seedDemo({ mysqlUrl: MYSQL_URL, database: DATABASE, typeCoverage: ROWS, orders: 5, merchants: 5 });
  mysqlConnection = await mysql.createConnection({ uri: MYSQL_URL, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, jsonStrings: true });
  await mysqlConnection.query("SET time_zone = '+00:00'");
  const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.type_coverage: { cdc_strategy: id_only, cdc_id_column: id, processing: { batch_size: 500 } }`);
  const context = contextFor(s3, pipeline, `${DATABASE}.type_coverage`);
  outcome = await runExtraction(context, "run-types");
  columns = (await loadSchema(context, outcome.begin.schemaKey)).columns;
  files = await reader.fetch(
    s3,
    outcome.chunks.flatMap((c) => (c.file === undefined ? [] : [c.file])),
  );
});
afterAll(async () => {
  await mysqlConnection.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
  await mysqlConnection.end();
  await reader.close();
  await s3.stop();
});

const q = (name: string) => `\`${name}\``;
const d = (name: string) => `"${name}"`;
const notZeroDate = (c: string) => `${c} IS NOT NULL AND YEAR(${c}) <> 0 AND MONTH(${c}) <> 0 AND DAYOFMONTH(${c}) <> 0`;

/** How MySQL and DuckDB each render a column's value in one comparable form (text, or a number for floats). */
function renderings(column: TableColumn): { mysql: string; duckdb: string; float?: "float32" | "float64" } {
  const m = q(column.source);
  const p = d(column.name);
  switch (column.value.kind) {
    case "int32":
    case "int64":
    case "decimal":
      return { mysql: `CAST(${m} + 0 AS CHAR)`, duckdb: `${p}::VARCHAR` };
    case "boolean":
      return { mysql: `CAST(${m} + 0 AS CHAR)`, duckdb: `${p}::INTEGER::VARCHAR` };
    // MySQL's own text of the stored value, parsed by JS (correctly rounded) — not mysql2's float parser, which
    // gets the last digit wrong for some doubles (98007.33333333333 comes back as 98007.33333333331).
    case "float":
      return { mysql: `CAST(CAST(${m} AS DOUBLE) AS CHAR)`, duckdb: p, float: "float32" };
    case "double":
      return { mysql: `CAST(${m} AS CHAR)`, duckdb: p, float: "float64" };
    case "date":
      return { mysql: `IF(${notZeroDate(m)}, DATE_FORMAT(${m}, '%Y-%m-%d'), NULL)`, duckdb: `strftime(${p}, '%Y-%m-%d')` };
    case "timestamp":
      return { mysql: `IF(${notZeroDate(m)}, CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${m}) AS CHAR), NULL)`, duckdb: `epoch_us(${p})::VARCHAR` };
    case "string":
      return { mysql: column.sourceType.startsWith("decimal") ? `CAST(${m} AS CHAR)` : m, duckdb: p };
    case "binary":
      return column.value.wkb === true ? { mysql: `HEX(ST_AsBinary(${m}))`, duckdb: `hex(${p})` } : { mysql: `HEX(${m})`, duckdb: `hex(${p})` };
  }
}

describe("type round trip (type_coverage → Parquet → DuckDB)", () => {
  it("extracts every row once", async () => {
    const [rows] = await reader.read(files, "count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids");
    expect(rows).toEqual({ n: ROWS, ids: ROWS });
    expect(outcome.chunks.reduce((sum, c) => sum + c.rows, 0)).toBe(ROWS);
  });

  it("lands every cell exactly as MySQL holds it", async () => {
    const plan = columns.map((c) => ({ column: c, ...renderings(c) }));
    const [expectedRows] = await mysqlConnection.query<mysql.RowDataPacket[]>({
      sql: `SELECT ${plan.map((p, i) => `${p.mysql} AS c${i}`).join(", ")} FROM ${DATABASE}.type_coverage ORDER BY id`,
      rowsAsArray: true,
    });
    const actualRows = await reader.read(files, plan.map((p, i) => `${p.duckdb} AS c${i}`).join(", "), "ORDER BY id");
    expect(actualRows).toHaveLength(expectedRows.length);
    const mismatches: string[] = [];
    expectedRows.forEach((expectedRow, r) => {
      const actual = actualRows[r] ?? {};
      plan.forEach((p, i) => {
        const want: unknown = (expectedRow as unknown[])[i];
        const got = actual[`c${i}`];
        // MySQL's values here are text, numbers or NULL (every rendering above yields one of them).
        const text = (value: unknown) => (value === null ? null : typeof value === "string" ? value : JSON.stringify(value));
        const number = p.float === "float32" ? Math.fround(Number(want)) : Number(want);
        const same = p.float !== undefined && want !== null ? number === got : text(want) === text(got);
        if (!same) mismatches.push(`row ${r} ${p.column.source}: MySQL ${JSON.stringify(want)} vs Parquet ${JSON.stringify(got)}`);
      });
    });
    expect(mismatches.slice(0, 20)).toEqual([]);
  });

  it("holds the edge rows: extremes, zero dates as NULL, TIME past 24 h, NULLs in every column", async () => {
    const rows = await reader.read(
      files,
      `id::VARCHAR AS id, c_bigint_u::VARCHAR AS bu, c_dec_38_10::VARCHAR AS d38, c_dec_65_30 AS d65, c_time AS t, c_time6 AS t6,
       c_date::VARCHAR AS dt, c_datetime6::VARCHAR AS ts6, c_varchar AS v`,
      "WHERE id <= 4 ORDER BY id",
    );
    expect(rows[0]).toMatchObject({ bu: "18446744073709551615", d38: `${"9".repeat(28)}.${"9".repeat(10)}`, t: "838:59:59", v: "max ✓ 𝄞" });
    expect(rows[0]?.d65).toBe(`${"9".repeat(35)}.${"9".repeat(30)}`);
    expect(rows[1]).toMatchObject({ d38: `-${"9".repeat(28)}.${"9".repeat(10)}`, t: "-838:59:59", dt: "1000-01-01", ts6: "1000-01-01 00:00:00.000001" });
    expect(rows[2]).toMatchObject({ bu: "9007199254740993", d38: "0.0000000001", dt: null, ts6: null, t6: "24:00:00.000001" });
    const nullRow = await reader.read(files, "*", "WHERE id = 4");
    const nonKey = Object.entries(nullRow[0] ?? {}).filter(([name]) => name !== "id");
    expect(nonKey.length).toBe(columns.length - 1);
    expect(nonKey.filter(([, value]) => value !== null)).toEqual([]);
    const zero = (await loadWatermarkZeroDates()) ?? {};
    expect(zero.c_date, "zero dates counted").toBeGreaterThanOrEqual(1);
  });

  it("writes plain files: the §7 Parquet types, SNAPPY, no key/value metadata", async () => {
    const file = files[0] ?? "";
    const schema = await reader.query(
      `SELECT name, type, type_length, converted_type, logical_type, scale::INTEGER AS scale, precision::INTEGER AS precision FROM parquet_schema('${file}') WHERE name <> 'schema'`,
    );
    const byName = new Map(schema.map((row) => [row.name as string, row]));
    expect(byName.get("c_bigint_u")).toMatchObject({ type: "FIXED_LEN_BYTE_ARRAY", converted_type: "DECIMAL", precision: 20, scale: 0 });
    // Every DECIMAL in the fixed-length form AWS's exports use (5 bytes for 10 digits), never INT32/INT64-backed.
    expect(byName.get("c_dec_10_2")).toMatchObject({ type: "FIXED_LEN_BYTE_ARRAY", type_length: "5", converted_type: "DECIMAL", precision: 10, scale: 2 });
    expect(byName.get("c_dec_38_10")).toMatchObject({ type: "FIXED_LEN_BYTE_ARRAY", precision: 38, scale: 10 });
    expect(byName.get("c_dec_65_30")).toMatchObject({ type: "BYTE_ARRAY", converted_type: "UTF8" });
    // A wall-clock TIMESTAMP: local semantics, with the legacy converted type kept for old readers.
    expect(byName.get("c_datetime6")).toMatchObject({
      type: "INT64",
      converted_type: "TIMESTAMP_MICROS",
      logical_type: expect.stringContaining("isAdjustedToUTC=0") as unknown,
    });
    // DuckDB prints IntType's i8 bitWidth as a raw byte.
    const intType = (bits: number) => `IntType(bitWidth=${String.fromCharCode(bits)}, isSigned=1)`;
    expect(byName.get("c_smallint")).toMatchObject({ type: "INT32", converted_type: "INT_16", logical_type: intType(16) });
    expect(byName.get("c_tinyint")).toMatchObject({ type: "INT32", converted_type: "INT_8", logical_type: intType(8) });
    expect(byName.get("c_year")).toMatchObject({ type: "INT32", converted_type: "INT_16" });
    expect(byName.get("c_date")).toMatchObject({ type: "INT32", converted_type: "DATE" });
    expect(byName.get("c_bit1")).toMatchObject({ type: "BOOLEAN" });
    expect(byName.get("c_bit12")).toMatchObject({ type: "INT64" });
    expect(byName.get("c_int_u")).toMatchObject({ type: "INT64" });
    expect(byName.get("c_geometry")).toMatchObject({ type: "BYTE_ARRAY", converted_type: null });
    expect(schema.map((row) => row.name)).toEqual(columns.map((c) => c.name));
    expect(await reader.query(`SELECT * FROM parquet_kv_metadata('${file}')`)).toEqual([]);
    const codecs = await reader.query(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
    expect(codecs).toEqual([{ compression: "SNAPPY" }]);
  });
});

describe("column settings from config, end to end", () => {
  it("renames, excludes and overrides land in the file: TINYINT(1) as BOOLEAN only when configured", async () => {
    const yaml = pipelineFromYaml(
      DATABASE,
      `  ${DATABASE}.type_coverage:
    cdc_strategy: id_only
    cdc_id_column: id
    columns: { c_bool: is_set, c_geometry: { exclude: true }, c_longblob: { exclude: true } }
    type_overrides: { c_bool: BOOLEAN, c_json: SUPER }`,
    );
    const pipeline = { ...yaml, s3: { ...yaml.s3, isolation_prefix: "settings/" } };
    const run = await runExtraction(contextFor(s3, pipeline, `${DATABASE}.type_coverage`), "run-settings");
    const [file] = await reader.fetch(
      s3,
      run.chunks.flatMap((c) => (c.file === undefined ? [] : [c.file])),
    );
    const names = (await reader.query(`SELECT name FROM parquet_schema('${file ?? ""}') WHERE name <> 'schema'`)).map((r) => r.name);
    expect(names).toContain("is_set");
    expect(names).not.toContain("c_bool");
    expect(names).not.toContain("c_geometry");
    expect(names).not.toContain("c_longblob");
    expect(names).toHaveLength(columns.length - 2);
    const rows = await reader.read([file ?? ""], "id::INTEGER AS id, is_set, c_json", "WHERE id IN (1, 2, 4) ORDER BY id");
    expect(rows).toEqual([
      { id: 1, is_set: true, c_json: '{"max": 18446744073709551615}' },
      { id: 2, is_set: false, c_json: "[]" },
      { id: 4, is_set: null, c_json: null },
    ]);
  });
});

async function loadWatermarkZeroDates(): Promise<Record<string, number> | undefined> {
  const keys = await s3.store.listAll("staging", "test/watermarks/");
  const key = keys.find((k) => k.key.includes("type_coverage"))?.key;
  if (key === undefined) return undefined;
  const { value } = await s3.store.getJson("staging", key);
  return (value as { mysql_state: { zero_dates: Record<string, number> } }).mysql_state.zero_dates;
}
