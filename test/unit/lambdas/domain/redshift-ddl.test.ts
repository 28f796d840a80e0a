/** lambdas/domain/redshift-ddl.ts: the CREATE TABLE a table's schema gives in Redshift. */
import { describe, expect, it } from "vitest";
import { createTableSql } from "#domain/redshift-ddl.ts";
import { ORDERS_SCHEMA as schema, ORDERS_TARGET as target } from "../../../support/orders-schema.ts";

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
