import { describe, expect, it } from "vitest";
import { buildTableSchema, mapColumnType, sanitiseColumnName, TableSchemaError, type SourceColumn } from "#domain/table-schema.ts";

function column(name: string, columnType: string, extra: Partial<SourceColumn> = {}): SourceColumn {
  const dataType = columnType.replace(/[(\s].*$/, "");
  const numbers = /\((\d+)(?:,(\d+))?\)/.exec(columnType);
  const textual = /char|binary/.test(dataType);
  return {
    name,
    dataType,
    columnType,
    nullable: true,
    numericPrecision: !textual && numbers ? Number(numbers[1]) : null,
    numericScale: !textual && numbers?.[2] !== undefined ? Number(numbers[2]) : null,
    datetimePrecision: null,
    characterMaximumLength: textual && numbers ? Number(numbers[1]) : null,
    ...extra,
  };
}

const settings = (extra: Partial<Parameters<typeof buildTableSchema>[0]> = {}) => ({
  key: "shop.orders",
  cdc_strategy: "id_only" as const,
  cdc_id_column: "id",
  cdc_timestamp_column: undefined,
  columns: undefined,
  type_overrides: undefined,
  primary_key: undefined,
  ...extra,
});

describe("docs/design.md §7 type mapping", () => {
  it.each([
    ["tinyint(4)", "int32", "SMALLINT"],
    ["tinyint(3) unsigned", "int32", "SMALLINT"],
    ["tinyint(1)", "int32", "SMALLINT"],
    ["smallint(6)", "int32", "SMALLINT"],
    // 65535 does not fit Redshift's SMALLINT (32767)
    ["smallint(5) unsigned", "int32", "INTEGER"],
    ["mediumint(8) unsigned", "int32", "INTEGER"],
    ["int(11)", "int32", "INTEGER"],
    ["int(10) unsigned", "int64", "BIGINT"],
    ["bigint(20)", "int64", "BIGINT"],
    ["bigint(20) unsigned", "decimal", "DECIMAL(20,0)"],
    ["decimal(18,4)", "decimal", "DECIMAL(18,4)"],
    ["decimal(38,10)", "decimal", "DECIMAL(38,10)"],
    ["decimal(65,30)", "string", "VARCHAR(67)"],
    ["float", "float", "REAL"],
    ["double", "double", "DOUBLE PRECISION"],
    ["bit(1)", "boolean", "BOOLEAN"],
    ["bit(12)", "int64", "BIGINT"],
    ["bit(64)", "decimal", "DECIMAL(20,0)"],
    ["date", "date", "DATE"],
    ["datetime(6)", "timestamp", "TIMESTAMP"],
    ["timestamp(3)", "timestamp", "TIMESTAMP"],
    ["time(6)", "string", "VARCHAR(17)"],
    ["year(4)", "int32", "SMALLINT"],
    ["char(10)", "string", "VARCHAR(40)"],
    ["varchar(255)", "string", "VARCHAR(1020)"],
    ["varchar(20000)", "string", "VARCHAR(65535)"],
    ["longtext", "string", "VARCHAR(65535)"],
    ["json", "string", "VARCHAR(65535)"],
    ["enum('pending','settled')", "string", "VARCHAR(7)"],
    ["set('a','b','c')", "string", "VARCHAR(5)"],
    ["binary(16)", "binary", "VARBYTE(16)"],
    ["varbinary(255)", "binary", "VARBYTE(255)"],
    ["blob", "binary", "VARBYTE(65535)"],
    ["longblob", "binary", "VARBYTE(1024000)"],
    ["geometry", "binary", "VARBYTE(1024000)"],
  ])("%s → %s / %s", (columnType, kind, redshiftType) => {
    const mapped = mapColumnType(column("c", columnType), "t.c");
    expect(mapped.value.kind).toBe(kind);
    expect(mapped.redshiftType).toBe(redshiftType);
  });

  it("refuses a type it cannot land, naming the column and the way out", () => {
    expect(() => mapColumnType(column("shape", "vector(3)"), "shop.orders.shape")).toThrow(
      "shop.orders.shape: MySQL type vector(3) is not supported; exclude the column (columns: {shape: {exclude: true}})",
    );
  });
});

describe("table schema from config", () => {
  const source = [
    column("id", "bigint(20)"),
    column("Order-Ref", "varchar(64)"),
    column("user", "varchar(10)"),
    column("is_paid", "tinyint(1)"),
    column("doc", "json"),
  ];

  it("sanitises names, suffixes reserved words, keeps source order", () => {
    const schema = buildTableSchema(settings(), source, ["id"]);
    expect(schema.columns.map((c) => c.name)).toEqual(["id", "order_ref", "user_", "is_paid", "doc"]);
    expect(schema.primaryKey).toEqual(["id"]);
    expect(sanitiseColumnName("9lives")).toBe("_9lives");
  });

  it("applies renames, excludes and overrides", () => {
    const schema = buildTableSchema(
      settings({ columns: { "Order-Ref": "reference", user: { exclude: true } }, type_overrides: { is_paid: "BOOLEAN", doc: "SUPER" } }),
      source,
      ["id"],
    );
    expect(schema.columns.map((c) => [c.name, c.redshiftType])).toEqual([
      ["id", "BIGINT"],
      ["reference", "VARCHAR(256)"],
      ["is_paid", "BOOLEAN"],
      ["doc", "SUPER"],
    ]);
  });

  it("reports every problem at once: collisions, unknown columns, excluded cursor, bad override", () => {
    const colliding = [...source, column("ORDER_REF", "varchar(8)")];
    const error = (() => {
      try {
        buildTableSchema(settings({ columns: { id: { exclude: true }, nope: "x" }, type_overrides: { id: "SUPER" }, primary_key: ["missing"] }), colliding, []);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(TableSchemaError);
    const message = (error as Error).message;
    expect(message).toContain("shop.orders: column nope named in config does not exist in the source; columns: id, Order-Ref, user, is_paid, doc, ORDER_REF");
    expect(message).toContain("shop.orders: primary_key column missing does not exist in the source");
    expect(message).toContain("shop.orders: column id is the cursor key and cannot be excluded; remove its exclude in columns");
    expect(message).toContain(
      "shop.orders: columns Order-Ref and ORDER_REF both become order_ref in Redshift; rename one (columns: {ORDER_REF: another_name})",
    );
  });

  it("refuses cursor columns that cannot be paged on; a text or binary key can", () => {
    const uuid = [column("id", "varchar(36)"), column("updated_at", "varchar(30)")];
    expect(() => buildTableSchema(settings({ cdc_strategy: "hybrid", cdc_timestamp_column: "updated_at" }), uuid, ["id"])).toThrow(
      "shop.orders: cdc_timestamp_column updated_at is varchar(30); it must be DATETIME, TIMESTAMP or DATE",
    );
    const odd = [column("f", "double"), column("e", "enum('b','a')"), column("updated_at", "datetime(6)")];
    expect(() => buildTableSchema(settings({ cdc_strategy: "id_only", cdc_id_column: ["f", "e"] }), odd, [])).toThrow(
      "shop.orders: key column f cannot order the keyset: double is approximate; page on another unique key (cdc_id_column)\n" +
        "shop.orders: key column e cannot order the keyset: enum('b','a') sorts by member number but compares as text; page on another unique key (cdc_id_column)",
    );
    const keyed = buildTableSchema(
      settings({ cdc_strategy: "id_only", cdc_id_column: undefined }),
      [column("code", "varchar(8)"), column("raw", "binary(16)")],
      ["code", "raw"],
    );
    expect(keyed.cursorKey).toEqual(["code", "raw"]);
    expect(() => buildTableSchema(settings({ cdc_strategy: "id_only", cdc_id_column: undefined }), uuid, [])).toThrow(
      /id_only pages on a unique key and the table has no primary key; name a unique NOT NULL key in cdc_id_column/,
    );
  });

  it("refuses a dist_key or sort key that is not a synced column", () => {
    expect(() => buildTableSchema(settings({ dist_key: "gone", sort_keys: ["id", "nope"] }), source, ["id"])).toThrow(
      /dist_key names gone, which is not a synced column.*\n.*sort_keys names nope, which is not a synced column/,
    );
  });

  it("refuses an override that does not fit the source type", () => {
    expect(() => buildTableSchema(settings({ type_overrides: { id: "SUPER" } }), source, ["id"])).toThrow(
      "shop.orders.id: type_overrides SUPER does not apply to MySQL type bigint(20); supported overrides: BOOLEAN (for TINYINT(1) or BIT(1)), SUPER (for JSON or text), VARCHAR(n) (for text)",
    );
  });
});
