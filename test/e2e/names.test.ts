/**
 * Every name MySQL allows, through the real ASL: tables and columns named with spaces, hyphens, dots, non-ASCII
 * letters, upper case and backticks are named in YAML by MySQL's own quoting (backticks, doubled inside) and sync
 * cell for cell; reconcile compares them clean. A malformed key is refused saying what is wrong with it.
 */
import { describe, expect, it } from "vitest";
import { discoverTable } from "#adapters/mysql.ts";
import { loadPipeline, parsePipeline } from "#config/loader.ts";
import { quotedTable } from "#domain/cdc/types.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import { buildTableSchema } from "#domain/table-schema.ts";
import { runCli } from "../support/cli.ts";
import { tableDifferences } from "../support/compare.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_names";
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: names, source: test_mysql, target: test_redshift, staging: test_staging, processing: { batch_size: 7 }, s3: { isolation_prefix: names/, partition_strategy: table } }
tables:
  "${DB}.\`Order Items\`": { cdc_strategy: hybrid, cdc_timestamp_column: Updated At, settle_seconds: 1 }
  "${DB}.\`v1.2-Ledger\`": { cdc_strategy: id_only, cdc_id_column: Ledger-ID }
  "${DB}.\`we\`\`ird\`": { cdc_strategy: timestamp_only, cdc_timestamp_column: "Zeit\`punkt", lookback_seconds: 0, primary_key: [Nº] }
  ${DB}.Café: { cdc_strategy: full_sync }
`,
);

const TABLES = ["Order Items", "v1.2-Ledger", "we`ird", "Café"];

describe("names MySQL allows", () => {
  it("sync cell for cell and reconcile clean: spaces, hyphens, dots, non-ASCII letters, upper case and backticks", async () => {
    const q = (name: string) => `\`${name.replace(/`/g, "``")}\``;
    await fx.db.admin.query(
      `CREATE TABLE ${q("Order Items")} (${q("Order ID")} INT NOT NULL PRIMARY KEY, ${q("First Name")} VARCHAR(40) NULL, ${q("e.mail")} VARCHAR(60) NULL, ${q("Prix €")} DECIMAL(10,2) NOT NULL, ${q("Updated At")} DATETIME(6) NOT NULL, KEY (${q("Updated At")}, ${q("Order ID")}))`,
    );
    await fx.db.admin.query(
      `INSERT INTO ${q("Order Items")} SELECT seq, CONCAT('Zoë ', seq), CONCAT('a', seq, '@x.example'), seq * 1.5, TIMESTAMP('2026-01-01') + INTERVAL seq MINUTE FROM seq_1_to_40`,
    );
    await fx.db.admin.query(`CREATE TABLE ${q("v1.2-Ledger")} (${q("Ledger-ID")} BIGINT NOT NULL PRIMARY KEY, ${q("ÄMOUNT")} DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${q("v1.2-Ledger")} SELECT seq * 3, seq / 7 FROM seq_1_to_30`);
    await fx.db.admin.query(
      `CREATE TABLE ${q("we`ird")} (${q("Nº")} INT NOT NULL PRIMARY KEY, ${q("Zeit`punkt")} DATETIME(6) NOT NULL, ${q("Wert")} INT NULL)`,
    );
    await fx.db.admin.query(`INSERT INTO ${q("we`ird")} SELECT seq, TIMESTAMP('2026-01-01') + INTERVAL seq SECOND, seq FROM seq_1_to_25`);
    await fx.db.admin.query(`CREATE TABLE ${q("Café")} (id INT NOT NULL PRIMARY KEY, ${q("naïve")} VARCHAR(10) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${q("Café")} VALUES (1, 'crème'), (2, 'brûlée')`);

    const run = await fx.run({ pipeline: "names" });
    expect(run.status, run.cause).toBe("SUCCEEDED");
    const pipeline = await loadPipeline(fx.configDir, "names");
    for (const name of TABLES) {
      const table = pipeline.tables.find((t) => t.sourceTable === name);
      if (table === undefined) throw new Error(name);
      const discovered = await discoverTable(fx.db.admin, DB, name);
      const schema = buildTableSchema(table, discovered.columns, discovered.primaryKey);
      const target = `public.${quoteRedshift(table.targetName)}`;
      expect(await tableDifferences(fx.db.admin, quotedTable(table), fx.warehouse.redshift, target, schema), name).toEqual([]);
    }
    // Target names: sanitised, lower case.
    const targets = await fx.warehouse.redshift.query(
      "SELECT table_name, string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE 'mrsync\\_ledger\\_\\_%' GROUP BY table_name ORDER BY table_name",
    );
    expect(targets.rows).toEqual([
      ["caf_", "id,na_ve"],
      ["order_items", "order_id,first_name,e_mail,prix__,updated_at"],
      ["v1_2_ledger", "ledger_id,_mount"],
      ["we_ird", "n_,zeit_punkt,wert"],
    ]);

    const reconcile = await runCli(fx.configDir, ["reconcile", "-p", "names", "--dry-run"]);
    expect(reconcile.code, reconcile.stderr + reconcile.stdout).toBe(0);
    expect(reconcile.stdout.match(/^clean {2}/gm)).toHaveLength(4);
  });

  it("refuses a malformed table key saying what is wrong with it", () => {
    const yaml = (key: string) => `
pipeline: { name: bad, source: s, target: t, staging: st }
tables:
  "${key}": { cdc_strategy: full_sync }
`;
    const problem = (key: string) => parsePipeline("pipelines/bad.yml", yaml(key)).issues.find((i) => i.yamlPath.startsWith("tables"))?.message;
    expect(problem("shop.Order Items")).toBe(
      'key "shop.Order Items": a table key "schema.table" (e.g. settlement.settle_orders, or shop.`Order Items`): "Order Items" holds characters a name must be quoted for: write it in backticks, as in MySQL (`Order Items`)',
    );
    expect(problem("shop")).toMatch(/no dot between schema and table/);
    expect(problem("shop.orders.v2")).toMatch(/unexpected "\.v2" after the table name: a name holding a dot is written in backticks/);
    expect(problem("shop.`open")).toMatch(/the backtick opened at character 6 is not closed/);
  });
});
