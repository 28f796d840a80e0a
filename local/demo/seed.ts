/**
 * Creates the demo MySQL database: settle_orders (settlement-like, gaps and ties), type_coverage (every MySQL
 * type of docs/design.md §7 with its edge values) and merchants (a small dimension for full_sync). Tables are
 * recreated from deterministic rows, so seeding twice leaves the same database.
 */
import mysql, { type Connection } from "mysql2/promise";
import { merchantRows, orderRows, TYPE_COVERAGE_COLUMNS, typeCoverageRows } from "./rows.ts";

export const DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306/test";
export const DEMO_DATABASE = "mrsync_demo";

export type SeedOptions = {
  mysqlUrl?: string;
  /** An open connection to seed through instead of mysqlUrl (left open; the smoke check's write session). */
  connection?: Connection;
  database?: string;
  orders?: number;
  typeCoverage?: number;
  merchants?: number;
  onProgress?: (message: string) => void;
};

export type SeedResult = { database: string; rows: Record<string, number> };

/** Parses a row-count option, with an error that names the option. */
export function parseRowCount(option: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 5) throw new Error(`--${option} must be an integer of at least 5, got ${JSON.stringify(text)}`);
  return n;
}

const quoteId = (name: string) => `\`${name.replace(/`/g, "``")}\``;

const TABLES: Record<string, string> = {
  settle_orders: `
    id BIGINT NOT NULL,
    merchant_id INT NOT NULL,
    order_ref VARCHAR(64) NOT NULL,
    amount DECIMAL(18,4) NOT NULL,
    fee DECIMAL(12,6) NULL,
    currency CHAR(3) NOT NULL,
    status ENUM('pending','settled','refunded','failed') NOT NULL,
    customer_note VARCHAR(255) NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    settled_on DATE NULL,
    PRIMARY KEY (id),
    KEY idx_updated_at_id (updated_at, id)`,
  type_coverage: `
    id BIGINT UNSIGNED NOT NULL,
    c_tinyint TINYINT NULL, c_tinyint_u TINYINT UNSIGNED NULL, c_bool TINYINT(1) NULL,
    c_smallint SMALLINT NULL, c_smallint_u SMALLINT UNSIGNED NULL,
    c_mediumint MEDIUMINT NULL, c_mediumint_u MEDIUMINT UNSIGNED NULL,
    c_int INT NULL, c_int_u INT UNSIGNED NULL, c_bigint BIGINT NULL, c_bigint_u BIGINT UNSIGNED NULL,
    c_dec_10_2 DECIMAL(10,2) NULL, c_dec_18_6 DECIMAL(18,6) NULL,
    c_dec_38_10 DECIMAL(38,10) NULL, c_dec_65_30 DECIMAL(65,30) NULL,
    c_float FLOAT NULL, c_double DOUBLE NULL, c_bit1 BIT(1) NULL, c_bit12 BIT(12) NULL,
    c_date DATE NULL, c_datetime DATETIME NULL, c_datetime6 DATETIME(6) NULL,
    c_timestamp3 TIMESTAMP(3) NULL DEFAULT NULL, c_timestamp6 TIMESTAMP(6) NULL DEFAULT NULL,
    c_time TIME NULL, c_time6 TIME(6) NULL, c_year YEAR NULL,
    c_char CHAR(10) NULL, c_varchar VARCHAR(255) NULL, c_tinytext TINYTEXT NULL, c_text TEXT NULL,
    c_mediumtext MEDIUMTEXT NULL, c_longtext LONGTEXT NULL,
    c_enum ENUM('pending','settled','refunded','failed') NULL, c_set SET('a','b','c') NULL, c_json JSON NULL,
    c_binary BINARY(16) NULL, c_varbinary VARBINARY(255) NULL, c_tinyblob TINYBLOB NULL, c_blob BLOB NULL,
    c_mediumblob MEDIUMBLOB NULL, c_longblob LONGBLOB NULL, c_geometry GEOMETRY NULL,
    PRIMARY KEY (id)`,
  merchants: `
    id INT NOT NULL,
    name VARCHAR(100) NOT NULL,
    country CHAR(2) NOT NULL,
    tier ENUM('bronze','silver','gold') NOT NULL,
    fee_rate DECIMAL(6,4) NOT NULL,
    active TINYINT(1) NOT NULL,
    onboarded_on DATE NOT NULL,
    updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id)`,
};

const ORDER_COLUMNS = ["id", "merchant_id", "order_ref", "amount", "fee", "currency", "status", "customer_note", "created_at", "updated_at", "settled_on"];
const MERCHANT_COLUMNS = ["id", "name", "country", "tier", "fee_rate", "active", "onboarded_on", "updated_at"];
const INSERT_BATCH = 2000;

async function insertAll(connection: Connection, table: string, columns: readonly string[], rows: Iterable<unknown[]>): Promise<number> {
  const sql = `INSERT INTO ${quoteId(table)} (${columns.map(quoteId).join(", ")}) VALUES ?`;
  let batch: unknown[][] = [];
  let count = 0;
  for (const row of rows) {
    batch.push(row);
    if (batch.length === INSERT_BATCH) {
      await connection.query(sql, [batch]);
      count += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) {
    await connection.query(sql, [batch]);
    count += batch.length;
  }
  return count;
}

export async function seedDemo(options: SeedOptions = {}): Promise<SeedResult> {
  const database = options.database ?? DEMO_DATABASE;
  const progress = options.onProgress ?? (() => undefined);
  const connection =
    options.connection ??
    (await mysql.createConnection({
      uri: options.mysqlUrl ?? DEFAULT_MYSQL_URL,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      charset: "utf8mb4_unicode_ci",
    }));
  try {
    // Strict, but zero dates allowed: the demo must hold them (they are what the sync must handle).
    await connection.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'");
    await connection.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await connection.query(`USE ${quoteId(database)}`);
    for (const [table, columns] of Object.entries(TABLES)) {
      await connection.query(`DROP TABLE IF EXISTS ${quoteId(table)}`);
      await connection.query(`CREATE TABLE ${quoteId(table)} (${columns}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    }
    const rows: Record<string, number> = {};
    progress(`seeding ${database}.merchants`);
    rows.merchants = await insertAll(connection, "merchants", MERCHANT_COLUMNS, merchantRows(options.merchants ?? 500));
    progress(`seeding ${database}.type_coverage`);
    rows.type_coverage = await insertAll(connection, "type_coverage", TYPE_COVERAGE_COLUMNS, typeCoverageRows(options.typeCoverage ?? 2000));
    // GEOMETRY needs a constructor function, which a bulk VALUES list cannot hold.
    await connection.query("UPDATE type_coverage SET c_geometry = ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))', 4326) WHERE id = 1");
    await connection.query(
      "UPDATE type_coverage SET c_geometry = ST_GeomFromText(CONCAT('POINT(', id MOD 180, ' ', id MOD 90, ')')) WHERE id > 4 AND id MOD 3 = 1",
    );
    progress(`seeding ${database}.settle_orders`);
    rows.settle_orders = await insertAll(connection, "settle_orders", ORDER_COLUMNS, orderRows(options.orders ?? 200_000));
    return { database, rows };
  } finally {
    if (options.connection === undefined) await connection.end();
  }
}
