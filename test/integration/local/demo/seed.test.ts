import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ID_BEYOND_2_53, SHARED_UPDATED_AT } from "#local/demo/rows.ts";
import { DEFAULT_MYSQL_URL, seedDemo } from "#local/demo/seed.ts";

const MYSQL_URL = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;
const DATABASE = "mrsync_test_seed";
let connection: mysql.Connection;

beforeAll(async () => {
  connection = await mysql.createConnection({ uri: MYSQL_URL, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  await connection.query("SET time_zone = '+00:00'");
});
afterAll(async () => {
  await connection.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
  await connection.end();
});

async function snapshot(): Promise<unknown> {
  const [checksums] = await connection.query(`CHECKSUM TABLE ${DATABASE}.settle_orders, ${DATABASE}.type_coverage, ${DATABASE}.merchants`);
  const [counts] = await connection.query(
    `SELECT (SELECT COUNT(*) FROM ${DATABASE}.settle_orders) o, (SELECT COUNT(*) FROM ${DATABASE}.type_coverage) t, (SELECT COUNT(*) FROM ${DATABASE}.merchants) m`,
  );
  return { checksums, counts };
}

describe("demo seed", () => {
  it("leaves the same database when run twice", async () => {
    const sizes = { mysqlUrl: MYSQL_URL, database: DATABASE, orders: 5_000, typeCoverage: 1_200, merchants: 50 };
    const first = await seedDemo(sizes);
    expect(first.rows).toEqual({ merchants: 50, type_coverage: 1_200, settle_orders: 5_000 });
    const before = await snapshot();
    await seedDemo(sizes);
    expect(await snapshot()).toEqual(before);
  });

  it("holds every MySQL type of the type table", async () => {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      "SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'type_coverage'",
      [DATABASE],
    );
    const types = rows.map((r) => String(r.t));
    // MariaDB stores JSON as LONGTEXT with a json_valid check; MySQL reports json.
    const expected = [
      "tinyint(4)",
      "tinyint(3) unsigned",
      "tinyint(1)",
      "smallint(6)",
      "smallint(5) unsigned",
      "mediumint(9)",
      "mediumint(8) unsigned",
      "int(11)",
      "int(10) unsigned",
      "bigint(20)",
      "bigint(20) unsigned",
      "decimal(10,2)",
      "decimal(18,6)",
      "decimal(38,10)",
      "decimal(65,30)",
      "float",
      "double",
      "bit(1)",
      "bit(12)",
      "date",
      "datetime",
      "datetime(6)",
      "timestamp(3)",
      "timestamp(6)",
      "time",
      "time(6)",
      "year(4)",
      "char(10)",
      "varchar(255)",
      "tinytext",
      "text",
      "mediumtext",
      "longtext",
      "enum('pending','settled','refunded','failed')",
      "set('a','b','c')",
      "binary(16)",
      "varbinary(255)",
      "tinyblob",
      "blob",
      "mediumblob",
      "longblob",
      "geometry",
    ];
    // Display widths differ between MariaDB (int(11)) and MySQL 8 (int); tinyint(1) keeps its meaning in both.
    const normalise = (t: string) => (t === "tinyint(1)" ? t : t.replace(/^(tinyint|smallint|mediumint|int|bigint|year)\(\d+\)/, "$1"));
    for (const type of expected) expect(types.map(normalise), type).toContain(normalise(type));
    const [json] = await connection.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'type_coverage' AND COLUMN_NAME = 'c_json' AND COLUMN_TYPE IN ('json', 'longtext')",
      [DATABASE],
    );
    expect(json[0]?.n).toBe("1"); // bigNumberStrings: counts come back as text
  });

  it("stores the edge values exactly", async () => {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT id, c_bigint_u, c_bigint, c_dec_38_10, c_dec_65_30, c_date, c_datetime6, c_time, c_time6, c_bit12 + 0 AS bit12,
              c_set, c_enum, HEX(c_binary) AS bin, ST_AsText(c_geometry) AS geom FROM ${DATABASE}.type_coverage WHERE id <= 4 ORDER BY id`,
    );
    expect(rows.map((r) => ({ ...r }))).toEqual([
      {
        id: "1",
        c_bigint_u: "18446744073709551615",
        c_bigint: "9223372036854775807",
        c_dec_38_10: "9999999999999999999999999999.9999999999",
        c_dec_65_30: "99999999999999999999999999999999999.999999999999999999999999999999",
        c_date: "9999-12-31",
        c_datetime6: "9999-12-31 23:59:59.999999",
        c_time: "838:59:59",
        c_time6: "838:59:59.000000",
        bit12: "4095",
        c_set: "a,b,c",
        c_enum: "refunded",
        bin: "F".repeat(32),
        geom: "POLYGON((0 0,10 0,10 10,0 10,0 0))",
      },
      {
        id: "2",
        c_bigint_u: "0",
        c_bigint: "-9223372036854775808",
        c_dec_38_10: "-9999999999999999999999999999.9999999999",
        c_dec_65_30: "-99999999999999999999999999999999999.999999999999999999999999999999",
        c_date: "1000-01-01",
        c_datetime6: "1000-01-01 00:00:00.000001",
        c_time: "-838:59:59",
        c_time6: "-838:59:59.000000",
        bit12: "0",
        c_set: "",
        c_enum: "pending",
        bin: "0".repeat(32),
        geom: null,
      },
      {
        id: "3",
        c_bigint_u: "9007199254740993",
        c_bigint: "0",
        c_dec_38_10: "0.0000000001",
        c_dec_65_30: "0.000000000000000000000000000001",
        c_date: "0000-00-00",
        c_datetime6: "2022-11-00 12:00:00.000000",
        c_time: "00:00:00",
        c_time6: "24:00:00.000001",
        bit12: "1",
        c_set: "b",
        c_enum: "settled",
        bin: null,
        geom: null,
      },
      {
        id: "4",
        c_bigint_u: null,
        c_bigint: null,
        c_dec_38_10: null,
        c_dec_65_30: null,
        c_date: null,
        c_datetime6: null,
        c_time: null,
        c_time6: null,
        bit12: null,
        c_set: null,
        c_enum: null,
        bin: null,
        geom: null,
      },
    ]);
  });

  it("gives orders id gaps, ids past 2^53, shared timestamps, NULLs and utf8mb4 text", async () => {
    const [[stats]] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT COUNT(*) n, MAX(id) max_id,
              SUM(id BETWEEN 1001 AND 49999) in_gap, SUM(id >= ?) beyond,
              SUM(updated_at = ?) shared, SUM(fee IS NULL) null_fees, SUM(customer_note IS NULL) null_notes,
              SUM(customer_note LIKE _utf8mb4'%🚀%' COLLATE utf8mb4_unicode_ci) emoji
         FROM ${DATABASE}.settle_orders`,
      [ID_BEYOND_2_53.toString(), SHARED_UPDATED_AT],
    );
    expect(stats).toMatchObject({ n: "5000", in_gap: "0" });
    expect(BigInt(String(stats!.max_id))).toBeGreaterThan(ID_BEYOND_2_53);
    expect(Number(stats!.beyond)).toBeGreaterThan(400);
    expect(Number(stats!.shared)).toBeGreaterThan(100);
    expect(Number(stats!.null_fees)).toBeGreaterThan(0);
    expect(Number(stats!.null_notes)).toBeGreaterThan(0);
    expect(Number(stats!.emoji)).toBeGreaterThan(0);
  });
});
