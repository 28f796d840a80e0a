/**
 * Keysets on the real unique key, through the real state machine: tables shaped like public sample databases and
 * settlement history tables — composite primary keys whose first column repeats across chunk edges, an (INT, DATE)
 * history key, a case-insensitive VARCHAR key with mixed case and trailing spaces, a BINARY(16) key, and many rows per
 * timestamp on a composite tie-break — each synced twice (full, then changes) and compared with MySQL cell by cell.
 * The two loss repros of a non-unique cursor are refused before anything is read.
 */
import { copyFile, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipeline } from "#config/loader.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { loadSchema } from "#services/sync-context.ts";
import { getWatermark } from "#services/watermarks.ts";
import { runCli } from "../support/cli.ts";
import { tableDifferences } from "../support/compare.ts";
import { contextFor } from "../support/extraction.ts";
import { COMPLETION, STAGING, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_keysets";
const TABLES = {
  // Link table (sakila film_actor): PK (actor_id, film_id); ~27 films per actor, so 500-row chunks cut inside actors.
  film_actor: "{ cdc_strategy: id_only, processing: { batch_size: 500 } }",
  // The same rows, hybrid on last_update (a handful of values for 5,400 rows) with the primary key as tie-break.
  film_actor_by_update: "{ cdc_strategy: hybrid, cdc_timestamp_column: last_update, processing: { batch_size: 450 } }",
  // full_sync pages on the composite primary key too (replace every run).
  film_actor_full: "{ cdc_strategy: full_sync, processing: { batch_size: 400 } }",
  // History table (employees salaries): PK (emp_no, from_date), ~10 rows per employee.
  salaries: "{ cdc_strategy: id_only, processing: { batch_size: 700 } }",
  // Codes under utf8mb4_unicode_ci (PAD SPACE): mixed case, trailing spaces, accents; JS order is not MySQL's.
  currency_codes: "{ cdc_strategy: id_only, processing: { batch_size: 7 } }",
  // BINARY(16) ids (UUIDs as bytes), with bytes JS would decode as invalid UTF-8.
  devices: "{ cdc_strategy: id_only, processing: { batch_size: 50 } }",
  // Many rows per timestamp, tie-broken by a composite (account_id, seq) key named explicitly.
  postings:
    "{ cdc_strategy: hybrid, cdc_timestamp_column: updated_at, cdc_id_column: [account_id, seq], lookback_seconds: 0, processing: { batch_size: 100 } }",
  // A DECIMAL key with negative values (bound through CAST, never compared as a double).
  rates: "{ cdc_strategy: id_only, processing: { batch_size: 9 } }",
  // hybrid on a DATE, tie-broken by a (CHAR(3), INT) primary key.
  daily: "{ cdc_strategy: hybrid, cdc_timestamp_column: day, lookback_seconds: 0, processing: { batch_size: 13 } }",
  // The loss repros: a hybrid tie-break and an id_only cursor that are not unique.
  film_actor_bad: "{ cdc_strategy: hybrid, cdc_timestamp_column: last_update, cdc_id_column: film_id, processing: { batch_size: 500 } }",
  salaries_bad: "{ cdc_strategy: id_only, cdc_id_column: emp_no, processing: { batch_size: 700 } }",
};
type Table = keyof typeof TABLES;
const key = (table: Table) => `${DB}.${table}`;
const PIPELINE = `
pipeline:
  name: keysets
  source: test_mysql
  target: test_redshift
  staging: test_staging
  s3: { isolation_prefix: keysets/ }
  completion: { bucket: ${COMPLETION} }
tables:
${Object.entries(TABLES)
  .map(([table, settings]) => `  ${DB}.${table}: ${settings}`)
  .join("\n")}
`;

const fx = usePipelineFixture(DB, () => PIPELINE);
const pipeline = () => loadPipeline(fx.configDir, "keysets");
const GOOD: Table[] = ["film_actor", "film_actor_by_update", "film_actor_full", "salaries", "currency_codes", "devices", "postings", "rates", "daily"];

async function seed(): Promise<void> {
  const { admin } = fx.db;
  // Settled an hour ago (the settle window holds back rows newer than NOW() - settle_seconds).
  const hourAgo = "NOW(6) - INTERVAL 1 HOUR";
  for (const table of ["film_actor", "film_actor_by_update", "film_actor_full", "film_actor_bad"]) {
    await admin.query(`CREATE TABLE ${DB}.${table} (actor_id SMALLINT UNSIGNED NOT NULL, film_id SMALLINT UNSIGNED NOT NULL,
      last_update TIMESTAMP(6) NOT NULL, PRIMARY KEY (actor_id, film_id), KEY idx_film (film_id))`);
    // 200 actors × 27 films; film ids repeat across actors; 90% of rows share one timestamp.
    await admin.query(
      `INSERT INTO ${DB}.${table} SELECT a.seq, (a.seq * 37 + f.seq * 11) % 1000 + 1,
         IF(MOD(a.seq + f.seq, 10) = 0, ${hourAgo} - INTERVAL MOD(a.seq, 3) SECOND, ${hourAgo} - INTERVAL 1 DAY)
       FROM seq_1_to_200 a, seq_1_to_27 f`,
    );
  }
  for (const table of ["salaries", "salaries_bad"]) {
    await admin.query(`CREATE TABLE ${DB}.${table} (emp_no INT NOT NULL, salary INT NOT NULL, from_date DATE NOT NULL, to_date DATE NOT NULL,
      PRIMARY KEY (emp_no, from_date))`);
    await admin.query(
      `INSERT INTO ${DB}.${table} SELECT 10000 + e.seq, 40000 + e.seq * 7 + y.seq * 1000, DATE('1986-06-26') + INTERVAL y.seq YEAR + INTERVAL MOD(e.seq, 300) DAY,
         DATE('1987-06-26') + INTERVAL y.seq YEAR + INTERVAL MOD(e.seq, 300) DAY
       FROM seq_1_to_1000 e, seq_0_to_9 y WHERE MOD(e.seq * y.seq, 7) <> 3`,
    );
  }
  await admin.query(`CREATE TABLE ${DB}.currency_codes (code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY,
    name VARCHAR(60) NOT NULL)`);
  const codes = [
    "a",
    "B",
    "c",
    "Dz",
    "dzz",
    "é",
    "F",
    "ga ",
    "Gb",
    "h  ",
    "I",
    "j",
    "K",
    "lm",
    "LN",
    "ñ",
    "o",
    "P",
    "q",
    "R",
    "ß",
    "t",
    "Ü",
    "v",
    "W",
    "x",
    "Y",
    "z",
    "Zz ",
    "zzz",
  ];
  await admin.query(`INSERT INTO ${DB}.currency_codes VALUES ?`, [codes.map((code, i) => [code, `currency ${i} «${code}»`])]);
  await admin.query(`CREATE TABLE ${DB}.devices (id BINARY(16) NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL)`);
  await admin.query(`INSERT INTO ${DB}.devices SELECT UNHEX(MD5(seq)), CONCAT('device ', seq) FROM seq_1_to_400`);
  await admin.query(`CREATE TABLE ${DB}.rates (rate DECIMAL(20,6) NOT NULL PRIMARY KEY, label VARCHAR(20) NOT NULL)`);
  // Keys a double cannot tell apart (17 significant digits and more), negative and positive.
  await admin.query(`INSERT INTO ${DB}.rates SELECT (CAST(seq AS SIGNED) - 60) * 1000000.000001 + 0.000001 * seq, CONCAT('r', seq) FROM seq_1_to_120`);
  await admin.query(`CREATE TABLE ${DB}.daily (region CHAR(3) NOT NULL, seq INT NOT NULL, day DATE NOT NULL, v INT NOT NULL, PRIMARY KEY (region, seq))`);
  await admin.query(
    `INSERT INTO ${DB}.daily SELECT ELT(1 + MOD(seq, 4), 'EU', 'us', 'APA', 'za'), seq, CURDATE() - INTERVAL (2 + MOD(seq, 3)) DAY, seq FROM seq_1_to_200`,
  );
  await admin.query(`CREATE TABLE ${DB}.postings (account_id INT NOT NULL, seq INT NOT NULL, updated_at DATETIME(6) NOT NULL, amount DECIMAL(18,4) NOT NULL,
    PRIMARY KEY (account_id, seq), KEY idx_updated (updated_at, account_id, seq))`);
  // 1,500 postings on 5 timestamps: every chunk edge falls inside a timestamp and inside an account.
  await admin.query(`INSERT INTO ${DB}.postings SELECT MOD(s.seq, 40), s.seq, ${hourAgo} - INTERVAL MOD(s.seq, 5) MINUTE, s.seq / 3 FROM seq_1_to_1500 s`);
}

async function differences(table: Table): Promise<string[]> {
  const schemas = await fx.s3.store.listAll(STAGING, `keysets/schemas/keysets/${key(table)}/`);
  const newest = [...schemas].sort((a, b) => (a.lastModified?.getTime() ?? 0) - (b.lastModified?.getTime() ?? 0)).at(-1);
  const schema = await loadSchema(contextFor(fx.s3, await pipeline(), key(table)), newest?.key ?? "");
  return tableDifferences(fx.db.admin, key(table), fx.warehouse.redshift, `public.${table}`, schema);
}

const rowCount = async (table: Table) => Number(((await fx.db.admin.query(`SELECT COUNT(*) AS n FROM ${key(table)}`))[0] as { n: number }[])[0]?.n);

describe("keysets on composite, text and binary keys, end to end", () => {
  it("syncs every table equal to MySQL, cell by cell, then only the changes", async () => {
    await seed();
    const first = await fx.run({ pipeline: "keysets", tables: GOOD.map(key) });
    expect(first.status, first.cause).toBe("SUCCEEDED");
    const results = (first.output as RunSummary).table_results;
    for (const table of GOOD) {
      expect(results[key(table)], table).toMatchObject({ status: "success", rows_processed: await rowCount(table) });
      expect(results[key(table)]?.validation, table).toMatch(/^passed: 1 window\(s\)/);
      expect(await differences(table), table).toEqual([]);
    }
    const salaries = await getWatermark(contextFor(fx.s3, await pipeline(), key("salaries")));
    expect(salaries?.mysql_state.cursor_columns).toEqual(["emp_no", "from_date"]);
    expect(salaries?.last_processed_key?.[0]).toBe(salaries?.last_processed_id);
    expect(salaries?.last_processed_key).toEqual(["11000", expect.stringMatching(/^\d{4}-\d\d-\d\d$/)]);

    // Changes: new rows inside existing key runs (lower than the cursor for text keys), updates, new timestamps.
    const { admin } = fx.db;
    await admin.query(`INSERT INTO ${DB}.film_actor VALUES (201, 5, NOW(6) - INTERVAL 1 MINUTE), (201, 1, NOW(6) - INTERVAL 1 MINUTE)`);
    await admin.query(`UPDATE ${DB}.film_actor_by_update SET last_update = NOW(6) - INTERVAL 1 MINUTE WHERE actor_id IN (3, 150)`);
    await admin.query(`DELETE FROM ${DB}.film_actor_full WHERE actor_id = 9`);
    await admin.query(`INSERT INTO ${DB}.salaries VALUES (11000, 99999, '2030-01-01', '9999-01-01'), (11001, 50000, '1990-01-01', '9999-01-01')`);
    await admin.query(`INSERT INTO ${DB}.currency_codes VALUES ('zzzz', 'after the last'), ('ZZZZZ  ', 'trailing spaces, upper case')`);
    await admin.query(`INSERT INTO ${DB}.devices SELECT UNHEX(CONCAT('FFFFFFFF', LEFT(MD5(seq), 24))), CONCAT('late device ', seq) FROM seq_1_to_30`);
    await admin.query(`UPDATE ${DB}.postings SET amount = amount + 1, updated_at = NOW(6) - INTERVAL 30 SECOND WHERE account_id = 7`);
    await admin.query(`INSERT INTO ${DB}.rates VALUES (99999999999999.999999, 'top'), (99999999999999.999998, 'just below')`);
    await admin.query(`UPDATE ${DB}.daily SET day = CURDATE() - INTERVAL 1 DAY, v = v + 1000 WHERE seq <= 10`);
    const second = await fx.run({ pipeline: "keysets", tables: GOOD.map(key) });
    expect(second.status, second.cause).toBe("SUCCEEDED");
    for (const table of GOOD) expect(await differences(table), table).toEqual([]);
    const delta = (second.output as RunSummary).table_results;
    expect(delta[key("film_actor")]?.rows_processed).toBe(2);
    expect(delta[key("film_actor_full")]?.rows_processed).toBe(5400 - 27);
    expect(delta[key("salaries")]?.rows_processed).toBe(2);
    expect(delta[key("currency_codes")]?.rows_processed).toBe(2);
    expect(delta[key("devices")]?.rows_processed).toBe(30);
    expect(delta[key("postings")]?.rows_processed).toBe(38);
    expect(delta[key("rates")]?.rows_processed).toBe(2);
    expect(delta[key("daily")]?.rows_processed).toBe(10);
  });

  it("refuses the non-unique cursors of the loss repros before reading anything, naming the table, the columns and the fixes", async () => {
    const execution = await fx.run({ pipeline: "keysets", tables: [key("film_actor_bad"), key("salaries_bad")] });
    expect(execution.status).toBe("FAILED");
    const results = (execution.output ?? JSON.parse(execution.cause?.slice(execution.cause.indexOf("{")) ?? "{}")) as RunSummary;
    const film = results.table_results[key("film_actor_bad")];
    expect(film).toMatchObject({ status: "failed", error_type: "UnsafeCursorError", rows_processed: 0 });
    expect(film?.error_message).toBe(
      `${DB}.film_actor_bad: hybrid pages on (last_update, film_id), which no unique NOT NULL index covers: rows sharing a value at a chunk edge would be skipped and never read again; ` +
        "its unique indexes: PRIMARY (actor_id, film_id). Fix: page on the primary key (actor_id, film_id) (omit cdc_id_column, or cdc_id_column: [actor_id, film_id]); " +
        "or add a unique NOT NULL index on the columns; or use timestamp_only (whole timestamps per chunk) or full_sync",
    );
    expect(results.table_results[key("salaries_bad")]?.error_message).toMatch(
      /salaries_bad: id_only pages on \(emp_no\), which no unique NOT NULL index covers: .* PRIMARY \(emp_no, from_date\)\. Fix: page on the primary key \(emp_no, from_date\)/,
    );
    // Refused before anything was read: no watermark, no staged file.
    for (const table of ["film_actor_bad", "salaries_bad"] as const) {
      expect(await getWatermark(contextFor(fx.s3, await pipeline(), key(table))), table).toBeUndefined();
      expect(await fx.s3.store.listAll(STAGING, `keysets/incremental/`).then((objects) => objects.filter((o) => o.key.includes(table))), table).toEqual([]);
    }
  });

  it("mrsync config validate --check-sources refuses the same tables before any run, with file and YAML path; a clean config passes", async () => {
    const refused = await runCli(fx.configDir, ["config", "validate", "--check-sources"]);
    expect(refused.code, refused.stdout).toBe(2);
    expect(refused.stderr).toContain("Sources refuse 2 problem(s) (nothing was read):");
    expect(refused.stderr).toMatch(
      new RegExp(`pipelines/test\\.yml: tables\\["${DB}\\.film_actor_bad"\\]: ${DB}\\.film_actor_bad: hybrid pages on \\(last_update, film_id\\)`),
    );
    expect(refused.stderr).toMatch(new RegExp(`pipelines/test\\.yml: tables\\["${DB}\\.salaries_bad"\\]: ${DB}\\.salaries_bad: id_only pages on \\(emp_no\\)`));

    const clean = await mkdtemp(path.join(tmpdir(), "mrsync-clean-"));
    await mkdir(path.join(clean, "pipelines"));
    await copyFile(path.join(fx.configDir, "connections.yml"), path.join(clean, "connections.yml"));
    await writeFile(
      path.join(clean, "pipelines", "good.yml"),
      PIPELINE.split("\n")
        .filter((line) => !line.includes("_bad:"))
        .join("\n"),
    );
    const passed = await runCli(clean, ["config", "validate", "--check-sources"]);
    expect(passed.code, passed.stderr).toBe(0);
    expect(passed.stdout).toContain("9 table(s) checked against their sources");
    expect(passed.stdout).toMatch(
      /\n {2}source test_mysql: DATETIME cursors in SYSTEM \(\w+\) \(the server's own zone\), TIMESTAMP in UTC; transaction horizon readable/,
    );
  });
});
