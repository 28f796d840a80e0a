/** lambdas/domain/cdc/key-range.ts: a range of a window read in key order, inside the window's own bound. */
import { describe, expect, it } from "vitest";
import { keyRangeReader, rangeContext, readsKeyRanges } from "#domain/cdc/key-range.ts";
import type { TableSchema } from "#domain/table-schema.ts";
import type { StrategyContext } from "#domain/cdc/types.ts";

const context = (timestamp: boolean): StrategyContext => ({
  from: "`s`.`t`",
  select: "`id`, `updated_at`",
  schema: { columns: [], primaryKey: ["id"], cursorKey: ["id"] } as never,
  timestamp: timestamp ? { source: "updated_at", name: "updated_at", kind: "temporal" } : undefined,
  timestampIndex: timestamp ? 1 : undefined,
  key: [{ source: "id", name: "id", kind: "integer" }],
  keyIndexes: [0],
  customSql: undefined,
  settleSeconds: 10,
});

describe("keyRangeReader", () => {
  it("reads a hybrid range in key order: after its cursor, up to its end, inside (timestamp, key) <= the ceiling", () => {
    const reader = keyRangeReader(context(true), "hybrid", { timestamp: "2026-01-01 00:00:00.000", key: ["77"] });
    const query = reader.chunkQuery({ timestamp: null, key: ["10"] }, { timestamp: null, key: ["500"] }, 1000);
    expect(query.sql).toBe(
      "SELECT `id`, `updated_at` FROM `s`.`t` WHERE `id` > ? AND `id` <= ? AND `updated_at` <= ? AND (`updated_at` < ? OR (`updated_at` = ? AND `id` <= ?)) ORDER BY `id` LIMIT ?",
    );
    expect(query.params).toEqual([10n, 500n, "2026-01-01 00:00:00.000", "2026-01-01 00:00:00.000", "2026-01-01 00:00:00.000", 77n, 1000]);
    // The last range: no end key, the window's bound ends it; the first: no cursor.
    expect(reader.chunkQuery({ timestamp: null, key: null }, { timestamp: null, key: null }, 5).sql).toBe(
      "SELECT `id`, `updated_at` FROM `s`.`t` WHERE `updated_at` <= ? AND (`updated_at` < ? OR (`updated_at` = ? AND `id` <= ?)) ORDER BY `id` LIMIT ?",
    );
    expect(reader.positionOf([Buffer.from("42"), Buffer.from("2026-01-01")])).toEqual({ timestamp: null, key: ["42"] });
    expect(reader.reached({ timestamp: null, key: ["500"] }, { timestamp: null, key: ["500"] })).toBe(true);
    expect(reader.reached({ timestamp: null, key: ["499"] }, { timestamp: null, key: ["500"] })).toBe(false);
    expect(reader.reached({ timestamp: null, key: ["900"] }, { timestamp: null, key: null })).toBe(false);
  });

  it("bounds an id_only range by the ceiling's key, and refuses a window with no ceiling", () => {
    const reader = keyRangeReader(context(false), "id_only", { timestamp: null, key: ["900"] });
    expect(reader.chunkQuery({ timestamp: null, key: null }, { timestamp: null, key: null }, 5).sql).toBe(
      "SELECT `id`, `updated_at` FROM `s`.`t` WHERE `id` <= ? ORDER BY `id` LIMIT ?",
    );
    expect(() => keyRangeReader(context(true), "hybrid", { timestamp: null, key: null })).toThrow(/no ceiling/);
    expect(["id_only", "full_sync", "hybrid", "timestamp_only", "custom_sql"].map((s) => readsKeyRanges(s as never))).toEqual([true, true, true, true, false]);
  });
});

describe("rangeContext", () => {
  const schema: TableSchema = {
    table: "shop.events",
    primaryKey: ["id"],
    cursorKey: [],
    columns: [
      { source: "id", name: "id", sourceType: "int(11)", value: { kind: "int32" }, redshiftType: "INTEGER", nullable: false },
      { source: "at", name: "at", sourceType: "datetime(3)", value: { kind: "timestamp" }, redshiftType: "TIMESTAMP", nullable: false },
      { source: "price", name: "price", sourceType: "float", value: { kind: "float" }, redshiftType: "REAL", nullable: false },
    ],
  };
  const table = {
    key: "shop.events",
    sourceSchema: "shop",
    sourceTable: "events",
    cdc_strategy: "timestamp_only" as const,
    cdc_timestamp_column: "at",
    cdc_id_column: undefined,
    custom_sql: undefined,
    settle_seconds: undefined,
    primary_key: undefined,
  };

  it("cuts timestamp_only's ranges on MySQL's own primary key, and on nothing it cannot trust to be unique and ordered", () => {
    expect(rangeContext(table, schema).key.map((k) => k.source)).toEqual(["id"]);
    expect(rangeContext(table, schema).keyIndexes).toEqual([0]);
    // A primary key named in the config is not MySQL's: it may not be unique.
    expect(rangeContext({ ...table, primary_key: ["id"] }, schema).key).toEqual([]);
    expect(rangeContext(table, { ...schema, primaryKey: [] }).key).toEqual([]);
    // A FLOAT orders no keyset; an excluded key column cannot be read back from the rows.
    expect(rangeContext(table, { ...schema, primaryKey: ["price"] }).key).toEqual([]);
    expect(rangeContext(table, { ...schema, primaryKey: ["gone"] }).key).toEqual([]);
    // Other strategies keep their keyset's key.
    expect(rangeContext({ ...table, cdc_strategy: "id_only", cdc_id_column: "id" }, { ...schema, cursorKey: ["id"] }).key.map((k) => k.source)).toEqual(["id"]);
  });
});
