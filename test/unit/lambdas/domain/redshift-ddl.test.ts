/** lambdas/domain/redshift-ddl.ts: the CREATE TABLE a table's schema gives in Redshift. */
import { describe, expect, it } from "vitest";
import { createTableSql } from "#domain/redshift-ddl.ts";
import type { TableSchema } from "#domain/table-schema.ts";

const schema: TableSchema = {
  table: "shop.orders",
  primaryKey: ["Id"],
  cursorKey: ["Id"],
  columns: [
    { source: "Id", name: "id", sourceType: "bigint(20)", value: { kind: "int64" }, redshiftType: "BIGINT", nullable: false },
    { source: "note", name: "note", sourceType: "varchar(50)", value: { kind: "string", maxBytes: 200 }, redshiftType: "VARCHAR(200)", nullable: true },
    {
      source: "amount",
      name: "amount",
      sourceType: "decimal(18,4)",
      value: { kind: "decimal", precision: 18, scale: 4 },
      redshiftType: "DECIMAL(18,4)",
      nullable: false,
    },
    { source: "updated_at", name: "updated_at", sourceType: "datetime(6)", value: { kind: "timestamp" }, redshiftType: "TIMESTAMP", nullable: false },
  ],
};
const target = { schema: "analytics", table: "orders" };

describe("Redshift DDL", () => {
  it("creates the table in file column order with key, distribution and sort keys, all quoted", () => {
    expect(createTableSql(schema, target, { dist_key: "Id", sort_keys: ["updated_at", "Id"] })).toBe(
      'CREATE TABLE IF NOT EXISTS "analytics"."orders" (\n  "id" BIGINT,\n  "note" VARCHAR(200),\n  "amount" DECIMAL(18,4),\n  "updated_at" TIMESTAMP,\n  PRIMARY KEY ("id")\n) DISTSTYLE KEY DISTKEY("id") SORTKEY("updated_at", "id")',
    );
    expect(() => createTableSql(schema, target, { sort_keys: ["nope"] })).toThrow(
      "shop.orders: sort key nope is not a synced column; columns: Id, note, amount, updated_at",
    );
  });
});
