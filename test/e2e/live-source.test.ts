/**
 * A live source: an application writes while syncs run back to back through the real ASL — autocommit inserts,
 * updates and deletes, and transactions that insert into every table and commit 3–15 s later (their rows carry the
 * statement's NOW(), an auto-increment id taken long before the commit). Late rows are read again, never a failure:
 * no run fails while the writer writes; after it stops, at most two runs (settle apart) leave Redshift equal to MySQL
 * cell for cell except the rows MySQL deleted, and a reconcile with delete_policy hard then leaves them identical.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import type { ExecutionRecord } from "#local/stepfunctions/runner.ts";
import { runCli } from "../support/cli.ts";
import { runLiveWriter, type WrittenTable } from "../support/live-writer.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_live_source";
const SEED_ROWS = 50_000;
const SETTLE_SECONDS = 2;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline:
  name: live
  source: test_mysql
  target: test_redshift
  staging: test_staging
  processing: { batch_size: 20000, max_parallel_tables: 3 }
  s3: { isolation_prefix: live/ }
tables:
  ${DB}.orders: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, settle_seconds: ${SETTLE_SECONDS}, delete_policy: hard }
  ${DB}.ticks: { cdc_strategy: timestamp_only, cdc_timestamp_column: at, settle_seconds: ${SETTLE_SECONDS}, delete_policy: hard }
  ${DB}.payouts: { cdc_strategy: id_only, delete_policy: hard }
`,
);

/** What the application writes: updates only where query-based CDC can see them (a timestamp cursor). */
const TABLES: WrittenTable[] = [
  { name: "orders", insert: "(amount, note) VALUES (ROUND(RAND() * 1000, 2), 'live')", update: "amount = amount + 1" },
  { name: "ticks", insert: "(v) VALUES (FLOOR(RAND() * 1000))", update: "v = v + 1" },
  // A settlement ledger: rows are appended (and some removed), never changed in place.
  { name: "payouts", insert: "(amount) VALUES (ROUND(RAND() * 1000, 2))" },
];

/** Each table's rows as text, by id: MySQL's rendering and Redshift's of the same values. */
const RENDER: Record<string, { mysql: string; redshift: string }> = {
  orders: {
    mysql: "id, CAST(amount AS CHAR), note, DATE_FORMAT(updated_at, '%Y-%m-%d %H:%i:%s.%f')",
    redshift: "id, amount::text, note, to_char(updated_at, 'YYYY-MM-DD HH24:MI:SS.US')",
  },
  ticks: { mysql: "id, CAST(v AS CHAR), DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f')", redshift: "id, v::text, to_char(at, 'YYYY-MM-DD HH24:MI:SS.US')" },
  payouts: { mysql: "id, CAST(amount AS CHAR)", redshift: "id, amount::text" },
};

async function rows(table: string): Promise<{ mysql: Map<number, string>; redshift: Map<number, string> }> {
  const render = RENDER[table] ?? { mysql: "", redshift: "" };
  const [inMysql] = await fx.db.admin.query({ sql: `SELECT ${render.mysql} FROM ${DB}.${table}`, rowsAsArray: true });
  const inRedshift = await fx.warehouse.redshift.query(`SELECT ${render.redshift} FROM public.${table}`);
  const byId = (list: readonly unknown[][]) => new Map(list.map((row) => [Number(row[0]), row.slice(1).map(String).join("|")]));
  return { mysql: byId(inMysql as unknown[][]), redshift: byId(inRedshift.rows) };
}

/** Rows missing from Redshift, cells different, and rows only in Redshift. */
async function differences(table: string) {
  const { mysql, redshift } = await rows(table);
  const missing = [...mysql.keys()].filter((id) => !redshift.has(id));
  const different = [...mysql.entries()].filter(([id, row]) => redshift.has(id) && redshift.get(id) !== row).map(([id]) => id);
  const extra = [...redshift.keys()].filter((id) => !mysql.has(id));
  return { missing, different, extra };
}

const failedTables = (execution: ExecutionRecord) => {
  const summary = execution.output as RunSummary | undefined;
  if (summary === undefined) return [`${execution.status}: ${execution.cause ?? ""}`.slice(0, 400)];
  return Object.entries(summary.table_results)
    .filter(([, line]) => line.status !== "success")
    .map(([table, line]) => `${table}: ${line.error_type ?? ""}: ${line.error_message ?? ""}`.slice(0, 400));
};

describe("a live source", () => {
  it("no run fails while an application writes with long transactions; two runs after it stops leave Redshift equal; reconcile makes it identical", async () => {
    const hourAgo = "NOW(6) - INTERVAL 1 HOUR";
    await fx.db.admin.query(
      `CREATE TABLE ${DB}.orders (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL, note VARCHAR(40) NULL, ` +
        "updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), KEY (updated_at, id))",
    );
    await fx.db.admin.query(
      `CREATE TABLE ${DB}.ticks (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL, at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), KEY (at))`,
    );
    await fx.db.admin.query(`CREATE TABLE ${DB}.payouts (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(
      `INSERT INTO ${DB}.orders (id, amount, note, updated_at) SELECT seq, seq / 8, 'seed', ${hourAgo} + INTERVAL seq * 50 MICROSECOND FROM seq_1_to_${SEED_ROWS}`,
    );
    await fx.db.admin.query(`INSERT INTO ${DB}.ticks (id, v, at) SELECT seq, seq, ${hourAgo} + INTERVAL seq DIV 20 SECOND FROM seq_1_to_${SEED_ROWS}`);
    await fx.db.admin.query(`INSERT INTO ${DB}.payouts (id, amount) SELECT seq, seq / 4 FROM seq_1_to_${SEED_ROWS}`);

    const runs: ExecutionRecord[] = [];
    const writing = { on: true };
    const writer = runLiveWriter({
      database: DB,
      tables: TABLES,
      durationMs: 25_000,
      autocommitSessions: 2,
      transactionSessions: 3,
      openForMs: { min: 3_000, max: 15_000 },
      deleteBelowId: SEED_ROWS,
      seed: 21,
    }).finally(() => {
      writing.on = false;
    });
    const started = Date.now();
    while (writing.on) runs.push(await fx.run({ pipeline: "live" }));
    const during = Date.now() - started;
    const written = await writer;
    expect(written.transactions, "long transactions committed while the syncs ran").toBeGreaterThanOrEqual(5);
    expect(runs.length, "syncs ran back to back while the writer wrote").toBeGreaterThanOrEqual(5);
    expect(runs.flatMap(failedTables), "no table failed while the application wrote").toEqual([]);
    const late = runs.map((run) => Object.values((run.output as RunSummary).table_results).reduce((sum, line) => sum + (line.late_rows ?? 0), 0));
    expect(
      late.reduce((a, b) => a + b, 0),
      "rows committed late were found (and read again)",
    ).toBeGreaterThan(0);

    // The writer has stopped: at most two runs, settle apart.
    for (let run = 0; run < 2; run++) {
      await sleep(SETTLE_SECONDS * 1000 + 200);
      const after = await fx.run({ pipeline: "live" });
      expect(failedTables(after)).toEqual([]);
    }
    for (const { name } of TABLES) {
      const found = await differences(name);
      expect({ table: name, missing: found.missing, different: found.different }).toEqual({ table: name, missing: [], different: [] });
      // Only rows MySQL deleted are left in Redshift (query-based CDC cannot see a delete).
      const deleted = written.deleted.get(name) ?? new Set<number>();
      expect(found.extra.filter((id) => !deleted.has(id))).toEqual([]);
    }

    const reconcile = await runCli(fx.configDir, ["reconcile", "-p", "live", "--local", "--allow-mass-delete"]);
    expect(reconcile.code, reconcile.stderr + reconcile.stdout).toBe(0);
    for (const { name } of TABLES) expect(await differences(name)).toEqual({ missing: [], different: [], extra: [] });
    console.info(
      `live source: ${runs.length} runs in ${during} ms while writing, ${written.transactions} long transactions, late rows per run ${late.join(",")}`,
    );
  }, 120_000);
});
