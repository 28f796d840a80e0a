/**
 * Rows read in place (adapters/mysql.ts RowInPlace), on real MariaDB: every value's bytes are exactly what mysql2's
 * own parser (typeCast off) gives — NULLs, empty values, every length prefix MySQL sends below 16 MiB (one byte, and
 * the 0xfc and 0xfd forms at their edges), binary bytes — and the pinned mysql2 does read in place (a mysql2 whose
 * internals moved would fall back to its arrays: this test is what says so).
 */
import { describe, expect, it } from "vitest";
import { connectSource, RowInPlace, streamQuery } from "#adapters/mysql.ts";
import { pipelineFromYaml, useExtractionFixture } from "../../../support/extraction.ts";

const DATABASE = "mrsync_test_in_place";
const fx = useExtractionFixture(DATABASE);

/** Lengths at the edges of the length prefixes: 250 is the last one-byte length, 2^16 − 1 the last 0xfc one. */
const LENGTHS = [0, 1, 250, 251, 252, 65_535, 65_536, 70_000];

describe("rows read in place", () => {
  it("give the bytes mysql2's parser gives, value for value, and are used with the pinned mysql2", async () => {
    await fx.db.admin.query(`CREATE TABLE shapes (
      id INT PRIMARY KEY, body MEDIUMTEXT NULL, raw MEDIUMBLOB NULL, amount DECIMAL(30,10) NULL, at DATETIME(6) NULL, flag BIT(3) NULL)`);
    let id = 0;
    for (const length of LENGTHS) {
      // Bytes 0xfb..0xfe inside a value are data, never a length marker.
      await fx.db.admin.query("INSERT INTO shapes VALUES (?, REPEAT('é', ?), ?, ?, ?, b'101')", [
        ++id,
        length,
        Buffer.alloc(length, 0xfb),
        "-12345678901234567890.0123456789",
        "2024-02-29 23:59:59.999999",
      ]);
      await fx.db.admin.query("INSERT INTO shapes VALUES (?, NULL, ?, NULL, NULL, NULL)", [++id, Buffer.from([0xfc, 0xfd, 0xfe, 0x00].slice(0, length % 5))]);
    }
    const source = pipelineFromYaml(DATABASE, `  ${DATABASE}.shapes: { cdc_strategy: full_sync }`).source;
    const connection = await connectSource(source, { username: "root", password: "" });
    try {
      const query = { sql: `SELECT * FROM ${DATABASE}.shapes ORDER BY id`, params: [] };
      const parsed: unknown[][] = [];
      await streamQuery(connection, query, { row: (row) => (parsed.push(row), true), backpressure: () => undefined });
      const inPlace: unknown[][] = [];
      const kept = new RowInPlace();
      const read = await streamQuery(connection, query, {
        row: () => {
          throw new Error("rows came as arrays: mysql2 did not read in place");
        },
        rowInPlace: (row) => {
          inPlace.push(row.values());
          row.keepIn(kept);
          return true;
        },
        backpressure: () => undefined,
      });
      expect(read).toEqual({ rows: LENGTHS.length * 2, stopped: false, inPlace: true });
      expect(parsed).toHaveLength(LENGTHS.length * 2);
      expect(inPlace).toEqual(parsed);
      expect(inPlace.map((row) => (row[1] as Buffer | null)?.length ?? null)).toEqual(LENGTHS.flatMap((n) => [2 * n, null]));
      // A row kept is read again from its packet, after every later row was read.
      expect(kept.values()).toEqual(parsed.at(-1));
    } finally {
      await connection.end();
    }
  });
});
