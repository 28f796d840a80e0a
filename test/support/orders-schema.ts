/** A table schema as Begin builds it (mixed-case key, text, DECIMAL, timestamp) and its Redshift target: the DDL and load-plan tests share it. */
import type { TableSchema } from "#domain/table-schema.ts";

export const ORDERS_SCHEMA: TableSchema = {
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
export const ORDERS_TARGET = { schema: "analytics", table: "orders" };
