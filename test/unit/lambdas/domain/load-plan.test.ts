/** lambdas/domain/load-plan.ts: schema evolution (what may change in Redshift, what is refused) and the load's statements. */
import { describe, expect, it } from "vitest";
import { ledgerTable, loadPlan, planSchemaChanges, type ExistingColumn } from "#domain/load-plan.ts";
import type { TableSchema } from "#domain/table-schema.ts";
import { ORDERS_SCHEMA as schema, ORDERS_TARGET as target } from "../../../support/orders-schema.ts";

describe("schema evolution", () => {
  const existing: ExistingColumn[] = [
    { name: "id", dataType: "bigint", maxLength: null, precision: 64, scale: 0 },
    { name: "note", dataType: "character varying", maxLength: 100, precision: null, scale: null },
    { name: "amount", dataType: "numeric", maxLength: null, precision: 18, scale: 4 },
  ];

  it("adds new columns and widens VARCHARs", () => {
    expect(planSchemaChanges(schema, target, existing)).toEqual({
      statements: [
        'ALTER TABLE "analytics"."orders" ALTER COLUMN "note" TYPE VARCHAR(200)',
        'ALTER TABLE "analytics"."orders" ADD COLUMN "updated_at" TIMESTAMP',
      ],
      problems: [],
    });
  });

  it("does not widen a VARCHAR of the primary key (Redshift cannot alter a key column): the migration is named instead", () => {
    const keyed: TableSchema = {
      ...schema,
      primaryKey: ["code"],
      columns: [
        { source: "code", name: "code", sourceType: "varchar(40)", value: { kind: "string", maxBytes: 160 }, redshiftType: "VARCHAR(160)", nullable: false },
      ],
    };
    const changes = planSchemaChanges(keyed, target, [{ name: "code", dataType: "character varying", maxLength: 80, precision: null, scale: null }]);
    expect(changes.statements).toEqual([]);
    expect(changes.problems).toEqual([
      "shop.orders: column code widened in the source to VARCHAR(160) (Redshift: VARCHAR(80)) and is part of the primary key, which Redshift cannot alter; " +
        'migrate by hand: ALTER TABLE "analytics"."orders" DROP CONSTRAINT <its primary key constraint>; ALTER TABLE "analytics"."orders" ALTER COLUMN "code" TYPE VARCHAR(160); ' +
        'ALTER TABLE "analytics"."orders" ADD PRIMARY KEY (…); then re-run',
    ]);
  });

  it("stops on an incompatible change, naming the column and the fix", () => {
    const changed = existing.map((c) => (c.name === "amount" ? { ...c, precision: 12, scale: 2 } : c.name === "id" ? { ...c, dataType: "integer" } : c));
    expect(planSchemaChanges(schema, target, changed).problems).toEqual([
      "shop.orders: column id is integer in Redshift but the source now gives BIGINT; migrate the column by hand (or rename it with columns:) and re-run",
      "shop.orders: column amount is numeric(12,2) in Redshift but the source now gives DECIMAL(18,4); migrate the column by hand and re-run",
    ]);
  });
});

describe("load plan", () => {
  const base = {
    schema,
    target,
    design: {},
    manifestUrl: "s3://b/m.manifest",
    copyRoleArn: "arn:aws:iam::1:role/r",
    loadId: "load_abc",
    pipeline: "p",
    table: "shop.orders",
    files: 2,
    newestFirst: ["updated_at", "id"],
  };

  it("merges: every change guarded by the ledger, newest version first, no TRUNCATE", () => {
    const plan = loadPlan({ ...base, mode: "merge" });
    const sql = plan.statements.join(";\n");
    // The table's own ledger is locked first: loads of one table take turns instead of aborting each other (ERROR 1023),
    // and no other table's load waits behind it.
    expect(plan.statements[0]).toBe(`LOCK "analytics"."mrsync_ledger__orders"`);
    expect(plan.statements[3]).toBe(`COPY "mrsync_stage_load_abc" FROM 's3://b/m.manifest' IAM_ROLE 'arn:aws:iam::1:role/r' MANIFEST FORMAT AS PARQUET`);
    expect(plan.statements[plan.insertIndex]).toContain('ROW_NUMBER() OVER (PARTITION BY "id" ORDER BY "updated_at" DESC, "id" DESC)');
    expect(
      plan.statements
        .filter((s) => /^(DELETE|INSERT)/.test(s))
        .every((s) => s.includes('NOT EXISTS (SELECT 1 FROM "analytics"."mrsync_ledger__orders" WHERE load_id = \'load_abc\')')),
    ).toBe(true);
    expect(sql).not.toMatch(/TRUNCATE/i);
  });

  it("gives each target table its own ledger, named within Redshift's 127 bytes", () => {
    expect(ledgerTable("orders")).toBe("mrsync_ledger__orders");
    const long = "x".repeat(127);
    const name = ledgerTable(long);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(127);
    expect(name).toMatch(/^mrsync_ledger__x+_[0-9a-f]{8}$/);
    // Two long names alike in their first bytes stay apart.
    expect(ledgerTable(`${long}a`)).not.toBe(ledgerTable(`${long}b`));
    expect(Buffer.byteLength(ledgerTable("ü".repeat(100)))).toBeLessThanOrEqual(127);
  });

  it("replaces a full_sync table with DELETE inside the transaction, and appends without a key", () => {
    expect(loadPlan({ ...base, mode: "replace" }).statements).toContain(
      `DELETE FROM "analytics"."orders" WHERE NOT EXISTS (SELECT 1 FROM "analytics"."mrsync_ledger__orders" WHERE load_id = 'load_abc')`,
    );
    const append = loadPlan({ ...base, mode: "append" });
    expect(append.statements.some((s) => s.startsWith("DELETE"))).toBe(false);
    expect(loadPlan({ ...base, mode: "merge", copyRoleArn: undefined }).statements[3]).toContain("IAM_ROLE default");
  });
});
