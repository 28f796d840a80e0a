/** lambdas/domain/cdc/index.ts: each CDC strategy's keyset chunk query, its parameters and when it has reached the ceiling. */
import { describe, expect, it } from "vitest";
import { compilePlaceholders } from "#domain/cdc/custom-sql.ts";
import { strategyFor } from "#domain/cdc/index.ts";
import type { TableSchema } from "#domain/table-schema.ts";

const schema: TableSchema = {
  table: "shop.orders",
  primaryKey: ["id"],
  cursorKey: ["id"],
  columns: [
    {
      source: "id",
      name: "id",
      sourceType: "bigint(20) unsigned",
      value: { kind: "decimal", precision: 20, scale: 0 },
      redshiftType: "DECIMAL(20,0)",
      nullable: false,
    },
    { source: "up`dated", name: "up_dated", sourceType: "datetime(6)", value: { kind: "timestamp" }, redshiftType: "TIMESTAMP", nullable: false },
    { source: "price", name: "price", sourceType: "float", value: { kind: "float" }, redshiftType: "REAL", nullable: true },
  ],
};
const table = {
  key: "shop.orders",
  sourceSchema: "shop",
  sourceTable: "orders",
  cdc_timestamp_column: "up`dated",
  cdc_id_column: "id",
  custom_sql: undefined,
  settle_seconds: undefined,
};

describe("CDC strategies build keyset queries", () => {
  it("hybrid: (timestamp, id) keyset under a (timestamp, id) ceiling, ids bound as integers, names quoted", () => {
    const strategy = strategyFor({ ...table, cdc_strategy: "hybrid" }, schema);
    const query = strategy.chunkQuery(
      { timestamp: "2025-01-01 00:00:00.000001", key: ["18446744073709551615"] },
      { timestamp: "2025-02-01 00:00:00.000000", key: ["42"] },
      1000,
    );
    expect(query.sql).toBe(
      "SELECT `id`, `up``dated`, CAST(`price` AS DOUBLE) FROM `shop`.`orders` WHERE `up``dated` >= ? AND (`up``dated` > ? OR (`up``dated` = ? AND `id` > ?)) AND `up``dated` <= ? AND (`up``dated` < ? OR (`up``dated` = ? AND `id` <= ?)) ORDER BY `up``dated`, `id` LIMIT ?",
    );
    const from = "2025-01-01 00:00:00.000001";
    const to = "2025-02-01 00:00:00.000000";
    expect(query.params).toEqual([from, from, from, 18446744073709551615n, to, to, to, 42n, 1000]);
    expect(strategy.reached({ timestamp: "2025-02-01 00:00:00", key: ["42"] }, { timestamp: "2025-02-01 00:00:00.000000", key: ["42"] })).toBe(true);
    expect(strategy.reached({ timestamp: "2025-02-01 00:00:00", key: ["41"] }, { timestamp: "2025-02-01 00:00:00.000000", key: ["42"] })).toBe(false);
    // After a lookback rewind the cursor is a timestamp alone: from it, inclusive (negative ids included).
    expect(strategy.chunkQuery({ timestamp: from, key: null }, { timestamp: to, key: ["42"] }, 10).sql).toContain(
      "WHERE `up``dated` >= ? AND `up``dated` <= ?",
    );
  });

  it("id_only on a first run has no lower bound; a non-integer cursor is refused", () => {
    const strategy = strategyFor({ ...table, cdc_strategy: "id_only" }, schema);
    expect(strategy.chunkQuery({ timestamp: null, key: null }, { timestamp: null, key: ["9007199254740993"] }, 10).sql).toContain(
      "WHERE `id` <= ? ORDER BY `id` LIMIT ?",
    );
    expect(() => strategy.chunkQuery({ timestamp: null, key: ["1 OR 1=1"] }, { timestamp: null, key: ["5"] }, 10)).toThrow(
      'cursor value "1 OR 1=1" of id is not an integer',
    );
  });

  it("custom_sql: placeholders become bound parameters; strings and :: casts are left alone", () => {
    const compiled = compilePlaceholders("SELECT a::text, ':last_id' FROM t WHERE id > :last_id AND ts <= :ceiling_timestamp LIMIT :batch_size");
    expect(compiled.sql).toBe("SELECT a::text, ':last_id' FROM t WHERE id > ? AND ts <= ? LIMIT ?");
    expect(compiled.order).toEqual(["last_id", "ceiling_timestamp", "batch_size"]);
  });
});
