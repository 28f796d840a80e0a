/**
 * `mrsync reconcile` (report only) on real MariaDB and the local warehouse, after syncs through the state machine:
 * whole tables compared by their unique key find what query-based CDC cannot see — hard deletes, updates that left
 * the cursor alone, NULL turned into '', a row committed behind the cursor, a row only in Redshift — and every §7 type
 * renders identically on both sides (type_coverage reconciles clean).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { RunSummary } from "#domain/run-summary.ts";
import { seedDemo } from "#local/demo/seed.ts";
import type { TableReconcile } from "../../cli/commands/reconcile.ts";
import { loadContext, pipelineNamed } from "#services/environment.ts";
import { getWatermark } from "#services/watermarks.ts";
import { findDifferences } from "#services/reconcile.ts";
import { deleteExtras, stageRepair } from "#services/reconcile-repair.ts";
import { runCli } from "../support/cli.ts";
import { MYSQL_URL } from "../support/extraction.ts";
import { COMPLETION, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_reconcile";
const CLI = path.join(import.meta.dirname, "..", "..", "bin", "mrsync.ts");
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: rec, source: test_mysql, target: test_redshift, staging: test_staging, processing: { batch_size: 200, max_parallel_tables: 3 }, s3: { isolation_prefix: rec/ }, completion: { bucket: ${COMPLETION} } }
tables:
  ${DB}.accounts: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, cdc_id_column: id, delete_policy: hard }
  ${DB}.links: { cdc_strategy: id_only, cdc_id_column: [owner_id, code], delete_policy: soft }
  ${DB}.type_coverage: { cdc_strategy: id_only, cdc_id_column: id }
  ${DB}.texts: { cdc_strategy: id_only, cdc_id_column: code }
`,
);

const reconcile = async (...flags: string[]) => {
  const run = await runCli(fx.configDir, ["--json", "reconcile", "-p", "rec", ...flags]);
  if (run.stdout === "") throw new Error(`reconcile printed nothing (exit ${run.code}): ${run.stderr}`);
  const results = JSON.parse(run.stdout) as TableReconcile[];
  const byTable = <T>(pick: (r: TableReconcile) => T) => Object.fromEntries(results.map((r) => [r.found.table.split(".")[1] ?? "", pick(r)]));
  return { code: run.code, stderr: run.stderr, reports: byTable((r) => r.found), results: byTable((r) => r) };
};

describe("mrsync reconcile", () => {
  it("finds nothing after a clean sync: every §7 type renders identically in MySQL and Redshift", async () => {
    await seedDemo({ mysqlUrl: MYSQL_URL, database: DB, typeCoverage: 600, orders: 1, merchants: 1 });
    await fx.db.admin.query(
      `CREATE TABLE ${DB}.accounts (id INT PRIMARY KEY, name VARCHAR(20) NULL, note VARCHAR(20) NULL, balance DECIMAL(12,2) NOT NULL, updated_at DATETIME(6) NOT NULL, KEY (updated_at, id))`,
    );
    // Equal timestamps, NULLs, '|' and '\\' in text (the canonical text's separator and escape).
    await fx.db.admin.query(
      `INSERT INTO ${DB}.accounts SELECT seq, IF(seq % 3 = 0, NULL, CONCAT('n|', seq)), IF(seq % 4 = 0, 'a\\\\b|c', NULL), seq * 1.25, '2026-01-01 00:00:00' - INTERVAL (seq DIV 50) HOUR FROM seq_1_to_900`,
    );
    await fx.db.admin.query(`CREATE TABLE ${DB}.links (owner_id INT NOT NULL, code VARCHAR(8) NOT NULL, note VARCHAR(10) NULL, PRIMARY KEY (owner_id, code))`);
    await fx.db.admin.query(`INSERT INTO ${DB}.links SELECT seq DIV 3, CONCAT('k', seq % 3), 'same' FROM seq_1_to_300`);
    // A string key; columns in three charsets and collations (the row text mixes them); '|' inside values.
    await fx.db.admin.query(
      `CREATE TABLE ${DB}.texts (code VARCHAR(12) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci PRIMARY KEY, a VARCHAR(10) CHARACTER SET latin1 NULL, b VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, at DATE NULL)`,
    );
    await fx.db.admin.query(
      `INSERT INTO ${DB}.texts VALUES ('k-ü', 'é|', 'x', '2026-02-01'), ('k|2', 'é', '|x', NULL), ('k3', '', NULL, '2026-02-03'), ('K 👩‍👧', NULL, '', '2026-02-04')`,
    );
    // Before any sync: refused with what to do, not a warehouse error.
    const early = await runCli(fx.configDir, ["reconcile", "-p", "rec", "-t", `${DB}.links`, "--dry-run"]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain(`its target public.links does not exist in Redshift yet; sync the table first`);

    const execution = await fx.run({ pipeline: "rec" });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");

    const { code, reports } = await reconcile("--dry-run");
    for (const table of ["accounts", "links", "type_coverage"]) {
      expect(reports[table], table).toMatchObject({ missing: 0, extra: 0, different: 0, differingBuckets: 0 });
    }
    expect(reports.type_coverage?.rows).toEqual({ mysql: 600, redshift: 600 });
    expect(reports.type_coverage?.notCompared.map((n) => n.column).sort()).toEqual(["c_double", "c_float"]);
    expect(code).toBe(0);
  });

  it("reports each difference query-based CDC leaves behind, by key, and exits 1", async () => {
    await fx.db.admin.query(`DELETE FROM ${DB}.accounts WHERE id IN (3, 4)`);
    await fx.db.admin.query(`UPDATE ${DB}.accounts SET balance = balance + 0.01 WHERE id = 5`); // cursor untouched
    await fx.db.admin.query(`UPDATE ${DB}.accounts SET name = '' WHERE id = 6`); // NULL → '' (id 6: name was NULL)
    await fx.db.admin.query(`INSERT INTO ${DB}.accounts VALUES (5000, 'late', NULL, 1, '2025-06-01 00:00:00')`); // behind the cursor
    await fx.db.admin.query(`UPDATE ${DB}.links SET note = 'changed' WHERE owner_id = 7 AND code = 'k1'`); // id_only: in place
    await fx.warehouse.redshift.query(`INSERT INTO public.accounts (id, name, balance, updated_at) VALUES (7000, 'ghost', 1, '2026-01-01')`);

    const { code, reports } = await reconcile("--dry-run");
    expect(code).toBe(1);
    expect(reports.accounts).toMatchObject({ missing: 1, extra: 3, different: 2, rows: { mysql: 899, redshift: 901 } });
    expect(reports.accounts?.examples.missing).toEqual([["5000"]]);
    expect(reports.accounts?.examples.extra.map((k) => k[0]).sort()).toEqual(["3", "4", "7000"]);
    expect(reports.accounts?.examples.different.map((k) => k[0]).sort()).toEqual(["5", "6"]);
    expect(reports.links).toMatchObject({ missing: 0, extra: 0, different: 1, examples: { different: [["7", "k1"]] } });
    expect(reports.type_coverage).toMatchObject({ missing: 0, extra: 0, different: 0 });
  });

  it("repairs through the normal load, exactly once even when a repair was staged and never loaded; hard-deletes only rows MySQL still lacks", async () => {
    // A repair staged by a reconcile that died before its load (the file is pending), then a full reconcile: both
    // files load in one merge, each row once.
    const pipeline = await pipelineNamed("rec");
    const context = loadContext(pipeline, `${DB}.accounts`);
    const found = await findDifferences(context);
    const staged = await stageRepair(context, found);
    expect(staged.rows).toBe(3);
    // Re-inserted in MySQL after the comparison: the delete checks MySQL again and leaves it.
    await fx.db.admin.query(`INSERT INTO ${DB}.accounts VALUES (4, 'back', NULL, 4, '2026-01-01 00:00:00')`);
    expect(await deleteExtras(context, found, { policy: "hard" })).toBe(2);
    expect((await fx.warehouse.redshift.query("SELECT id FROM public.accounts WHERE id IN (3, 4, 7000)")).rows).toEqual([["4"]].map((r) => r.map(Number)));

    const { code, results, stderr } = await reconcile("--local");
    expect(code, stderr).toBe(0);
    // The rows of the unloaded repair still differ (5, 6, 5000), and 4 now differs: staged again, loaded with the first file.
    expect(results.accounts).toMatchObject({
      found: { different: 3, extra: 0, missing: 1 },
      staged: { rows: 4 },
      deleted: 0,
      after: { missing: 0, extra: 0, different: 0 },
    });
    expect(results.links).toMatchObject({ staged: { rows: 1 }, deleted: 0, after: { missing: 0, extra: 0, different: 0 } });
    const rows = await fx.warehouse.redshift.query(
      "SELECT count(*), count(DISTINCT id), sum(CASE WHEN id IN (3, 7000) THEN 1 ELSE 0 END) FROM public.accounts",
    );
    expect(rows.rows[0]?.map(Number)).toEqual([900, 900, 0]);
    const repaired = await fx.warehouse.redshift.query("SELECT id, name, balance FROM public.accounts WHERE id IN (4, 5, 6, 5000) ORDER BY id");
    expect(repaired.rows.map((r) => r.map(String))).toEqual([
      ["4", "back", "4.00"],
      ["5", "n|5", "6.26"],
      ["6", "", "7.50"],
      ["5000", "late", "1.00"],
    ]);
    expect((await fx.warehouse.redshift.query("SELECT note FROM public.links WHERE owner_id = 7 AND code = 'k1'")).rows).toEqual([["changed"]]);
    const ledger = await fx.warehouse.redshift.query("SELECT count(*) FROM public.mrsync_ledger__accounts WHERE load_id LIKE 'reconcile_hard_delete_%'");
    expect(Number(ledger.rows[0]?.[0])).toBe(1);

    // Nothing left: a second reconcile repairs nothing.
    const again = await reconcile("--local");
    expect(again.code).toBe(0);
    expect(again.results.accounts).toMatchObject({ staged: { rows: 0 }, deleted: 0, found: { missing: 0, extra: 0, different: 0 } });
  });

  it("refuses a mass delete (what the temp-table pattern looks like) unless told it is real, deleting nothing", async () => {
    await fx.db.admin.query(`DELETE FROM ${DB}.accounts WHERE id > 850`);
    const refused = await runCli(fx.configDir, ["reconcile", "-p", "rec", "-t", `${DB}.accounts`, "--local"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/would delete 51 of 900 rows in Redshift .*temp-table pattern.*--allow-mass-delete/s);
    expect(Number((await fx.warehouse.redshift.query("SELECT count(*) FROM public.accounts")).rows[0]?.[0])).toBe(900);

    const { code, results } = await reconcile("-t", `${DB}.accounts`, "--local", "--allow-mass-delete");
    expect(code).toBe(0);
    expect(results.accounts).toMatchObject({ deleted: 51, after: { missing: 0, extra: 0, different: 0 } });
  });

  it("runs as a state-machine mode (an EventBridge schedule's input): compares, deletes, re-loads, and leaves its report beside the markers", async () => {
    await fx.db.admin.query(`UPDATE ${DB}.accounts SET note = 'silent' WHERE id = 10`);
    await fx.db.admin.query(`DELETE FROM ${DB}.accounts WHERE id = 20`);
    await fx.db.admin.query(`INSERT INTO ${DB}.accounts VALUES (6000, 'late', NULL, 2, '2025-01-01 00:00:00')`);
    const markers = async () =>
      (await fx.s3.store.listAll(COMPLETION, "completion_markers/rec/")).map((o) => o.key).filter((k) => k.endsWith("completion_marker.txt"));
    // The syncs before wrote theirs (the pipeline names the bucket: the stack grants only buckets config names).
    const syncMarkers = await markers();
    const execution = await fx.run({ pipeline: "rec", mode: "reconcile", completion_bucket: COMPLETION });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    const summary = execution.output as RunSummary;
    expect(summary.mode).toBe("reconcile");
    expect(summary.table_results[`${DB}.accounts`]).toMatchObject({
      status: "success",
      rows_loaded: 2,
      reconcile: { compared: 849, missing: 1, extra: 1, different: 1, reloaded: 2, deleted: 1 },
    });
    expect(summary.table_results[`${DB}.type_coverage`]).toMatchObject({ status: "success", reconcile: { missing: 0, extra: 0, different: 0, reloaded: 0 } });
    const reports = (await fx.s3.store.listAll(COMPLETION, "completion_markers/rec/")).map((o) => o.key);
    // One per table: accounts, links, type_coverage, texts.
    expect(reports.filter((k) => k.endsWith("/reconcile_report.json"))).toHaveLength(4);
    // Only syncs write completion markers: downstream sensors wait on those.
    expect(await markers()).toEqual(syncMarkers);
    expect((await reconcile("--dry-run")).code).toBe(0);
  });

  it("a reconcile killed (SIGKILL) after staging one table's repair is repaired exactly once by the next", async () => {
    await fx.db.admin.query(`UPDATE ${DB}.accounts SET name = 'killed' WHERE id BETWEEN 100 AND 109`);
    await fx.db.admin.query(`UPDATE ${DB}.links SET note = 'killed' WHERE owner_id = 20`);
    // Killed while comparing the second table: the first table's repair file is staged and pending, nothing loaded.
    const child = spawn(process.execPath, [CLI, "--config-dir", fx.configDir, "reconcile", "-p", "rec", "--local"], { env: process.env });
    let stderr = "";
    const killed = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, signal) => {
        resolve(signal);
      }),
    );
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString();
      if (stderr.includes(`reconciling ${DB}.links`)) child.kill("SIGKILL");
    });
    expect(await killed).toBe("SIGKILL");
    const watermark = await getWatermark(loadContext(await pipelineNamed("rec"), `${DB}.accounts`));
    expect(watermark?.s3_state.backup_s3_files.some((f) => f.includes("_batch_9999."))).toBe(true);

    const { code, results } = await reconcile("--local");
    expect(code).toBe(0);
    expect(results.accounts).toMatchObject({ found: { different: 10 }, after: { missing: 0, extra: 0, different: 0 } });
    expect(results.links).toMatchObject({ after: { missing: 0, extra: 0, different: 0 } });
    const rows = await fx.warehouse.redshift.query(
      "SELECT count(*), count(DISTINCT id), sum(CASE WHEN name = 'killed' THEN 1 ELSE 0 END) FROM public.accounts",
    );
    expect(rows.rows[0]?.map(Number)).toEqual([849, 849, 10]);
  });

  it("delete_policy soft marks rows gone from MySQL with _mrsync_deleted_at, compares only unmarked rows, and revives a row that comes back", async () => {
    await fx.db.admin.query(`DELETE FROM ${DB}.links WHERE owner_id = 30`);
    const first = await reconcile("-t", `${DB}.links`, "--local");
    expect(first.code).toBe(0);
    expect(first.results.links).toMatchObject({ found: { extra: 3 }, deleted: 3, after: { missing: 0, extra: 0, different: 0 } });
    const marked = await fx.warehouse.redshift.query("SELECT code, _mrsync_deleted_at IS NOT NULL FROM public.links WHERE owner_id = 30 ORDER BY code");
    expect(marked.rows).toEqual([
      ["k0", true],
      ["k1", true],
      ["k2", true],
    ]);
    expect(Number((await fx.warehouse.redshift.query("SELECT count(*) FROM public.links")).rows[0]?.[0]), "kept, only marked").toBe(300);

    await fx.db.admin.query(`INSERT INTO ${DB}.links VALUES (30, 'k1', 'back')`);
    const second = await reconcile("-t", `${DB}.links`, "--local");
    expect(second.results.links).toMatchObject({ found: { missing: 1, extra: 0 }, staged: { rows: 1 }, after: { missing: 0, extra: 0, different: 0 } });
    const revived = await fx.warehouse.redshift.query("SELECT code, note, _mrsync_deleted_at IS NULL FROM public.links WHERE owner_id = 30 ORDER BY code");
    expect(revived.rows).toEqual([
      ["k0", "same", false],
      ["k1", "back", true],
      ["k2", "same", false],
    ]);
  });

  it("leaves rows changed since the last sync to the next sync: in flight, neither a difference nor a repair", async () => {
    // After the table's cursor (2026-01-01 00:00:00): the next hybrid run reads them.
    await fx.db.admin.query(`INSERT INTO ${DB}.accounts VALUES (7100, 'new', NULL, 1, '2026-06-01 00:00:00')`);
    await fx.db.admin.query(`UPDATE ${DB}.accounts SET name = 'edited', updated_at = '2026-06-01 00:00:01' WHERE id = 30`);
    const { code, reports } = await reconcile("--dry-run", "-t", `${DB}.accounts`);
    expect(code).toBe(0);
    expect(reports.accounts).toMatchObject({ missing: 0, extra: 0, different: 0, inFlight: 2 });
    // The same rows with a timestamp behind the cursor are real differences.
    await fx.db.admin.query(`UPDATE ${DB}.accounts SET updated_at = '2025-12-31 00:00:00' WHERE id IN (7100, 30)`);
    const behind = await reconcile("--dry-run", "-t", `${DB}.accounts`);
    expect(behind.code).toBe(1);
    expect(behind.reports.accounts).toMatchObject({ missing: 1, different: 1, inFlight: 0 });
  });

  it("tells rows apart that differ only in where a '|' falls or in NULL vs '', with either row hash (CRC-32C, MD5)", async () => {
    // MySQL keeps a='é|', b='x'; Redshift gets a='é', b='|x' — joined by '|', both read 'é||x'.
    await fx.warehouse.redshift.query(`UPDATE public.texts SET a = 'é', b = '|x' WHERE code = 'k-ü'`);
    await fx.warehouse.redshift.query(`UPDATE public.texts SET a = NULL WHERE code = 'k3'`);
    const pipeline = await pipelineNamed("rec");
    const context = loadContext(pipeline, `${DB}.texts`);
    for (const hash of ["crc32c", "md5"] as const) {
      const { report } = await findDifferences(context, { hash });
      expect(report, hash).toMatchObject({ hash, rows: { mysql: 4, redshift: 4 }, missing: 0, extra: 0, different: 2 });
      expect(report.examples.different.map((k) => k[0]).sort(), hash).toEqual(["k-ü", "k3"]);
    }
    // By default the fastest hash the source computes: MariaDB 10.8+ has CRC32C.
    expect((await findDifferences(context)).report.hash).toBe("crc32c");
  });
});
