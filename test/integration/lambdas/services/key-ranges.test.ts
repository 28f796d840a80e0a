/**
 * lambdas/services/key-ranges.ts on real MariaDB: a table's unique key planned into ranges of about equal rows —
 * composite (INT, DATE) with most rows under one merchant, text in a case-insensitive collation, binary — that cover
 * every row exactly once, counted by MySQL through the ranges' own predicates; also while an application writes.
 */
import type { Connection } from "mysql2/promise";
import { describe, expect, it } from "vitest";
import { connectSource, queryRow } from "#adapters/mysql.ts";
import type { KeyColumn } from "#domain/cdc/keyset.ts";
import { quotedTable } from "#domain/cdc/types.ts";
import { rangePredicate, type KeyRange } from "#domain/ranges.ts";
import { MAX_SAMPLES, planKeyRanges, sampleKeys } from "#services/key-ranges.ts";
import { runLiveWriter } from "../../../support/live-writer.ts";
import { createDatabase, pipelineFromYaml } from "../../../support/extraction.ts";
import { afterAll, beforeAll } from "vitest";
import type { TestDatabase } from "../../../support/extraction.ts";

const DATABASE = "mrsync_test_key_ranges";
let db: TestDatabase;
let source: Connection;

beforeAll(async () => {
  db = await createDatabase(DATABASE);
  const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.t: { cdc_strategy: full_sync }`);
  source = await connectSource(pipeline.source, { username: pipeline.source.username ?? "", password: pipeline.source.password ?? "" });
});
afterAll(async () => {
  await source.end();
  await db.drop();
});

const table = (name: string, keyColumns: KeyColumn[]) => ({
  key: `${DATABASE}.${name}`,
  schema: DATABASE,
  table: name,
  from: quotedTable({ sourceSchema: DATABASE, sourceTable: name }),
  keyColumns,
});

async function count(name: string, range?: KeyRange, key: KeyColumn[] = []): Promise<number> {
  const where = range === undefined ? undefined : rangePredicate(key, range);
  const row = await queryRow(source, {
    sql: `SELECT COUNT(*) FROM \`${DATABASE}\`.\`${name}\`${where === undefined ? "" : ` WHERE ${where.sql}`}`,
    params: where?.params ?? [],
  });
  return Number(row?.[0]);
}

/** MySQL's counts of each range: they add up to the table (no row in two ranges, none in none). */
async function rangeCounts(name: string, ranges: KeyRange[], key: KeyColumn[]): Promise<{ counts: number[]; total: number }> {
  const counts = [];
  for (const range of ranges) counts.push(await count(name, range, key));
  return { counts, total: await count(name) };
}

describe("planning a table's key ranges", () => {
  it("cuts a composite (INT, DATE) key with most rows under one merchant into four ranges of about equal rows", async () => {
    await db.admin.query("CREATE TABLE settlements (merchant_id INT NOT NULL, day DATE NOT NULL, amount DECIMAL(12,2), PRIMARY KEY (merchant_id, day))");
    // Merchant 7: 120,000 days; merchants 1..60,000 (but 7): one day each. A plan on merchant_id alone would put
    // 2/3 of the rows in one range.
    await db.admin.query("INSERT INTO settlements SELECT 7, DATE_ADD('1700-01-01', INTERVAL seq DAY), seq FROM seq_1_to_120000");
    await db.admin.query("INSERT INTO settlements SELECT seq, '2024-01-01', seq FROM seq_1_to_60000 WHERE seq <> 7");
    await db.admin.query("ANALYZE TABLE settlements");
    const key: KeyColumn[] = [
      { source: "merchant_id", name: "merchant_id", kind: "integer" },
      { source: "day", name: "day", kind: "temporal" },
    ];
    const ranges = await planKeyRanges(source, table("settlements", key), 4, 4);
    expect(ranges).toHaveLength(4);
    const { counts, total } = await rangeCounts("settlements", ranges, key);
    expect(total).toBe(179_999);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    // Each within a sampling step (1/32 of a range) of its share, and the plan's own figures are MySQL's.
    for (const n of counts) expect(Math.abs(n - total / 4)).toBeLessThan(total / 4 / 16);
    expect(ranges.map((r) => r.rows)).toEqual(counts);
    // Two cuts fall inside merchant 7's days: the whole key is planned, not its first column.
    expect(ranges.filter((r) => r.upTo?.[0] === "7")).toHaveLength(2);
  });

  it("orders a text key as its collation does (not as JS would), and a binary key by its bytes", async () => {
    await db.admin.query("CREATE TABLE codes (code VARCHAR(40) COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY, n INT)");
    // Mixed case and accents: in utf8mb4_unicode_ci 'b…' sorts between 'A…' and 'C…' (in JS, every capital first).
    await db.admin.query("INSERT INTO codes SELECT CONCAT(ELT(1 + seq % 6, 'a', 'B', 'c', 'Á', 'd', 'É'), LPAD(seq, 7, '0')), seq FROM seq_1_to_30000");
    await db.admin.query("ANALYZE TABLE codes");
    const text: KeyColumn[] = [{ source: "code", name: "code", kind: "string" }];
    const ranges = await planKeyRanges(source, table("codes", text), 3, 4);
    const { counts, total } = await rangeCounts("codes", ranges, text);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    for (const n of counts) expect(Math.abs(n - total / 3)).toBeLessThan(total / 3 / 8);

    await db.admin.query("CREATE TABLE blobs (k VARBINARY(16) NOT NULL PRIMARY KEY)");
    await db.admin.query("INSERT INTO blobs SELECT UNHEX(MD5(seq)) FROM seq_1_to_20000");
    const binary: KeyColumn[] = [{ source: "k", name: "k", kind: "binary" }];
    const byBytes = await planKeyRanges(source, table("blobs", binary), 4, 4);
    expect(byBytes).toHaveLength(4);
    expect(byBytes[1]?.after?.[0]).toMatch(/^0x[0-9a-f]{32}$/);
    const blobs = await rangeCounts("blobs", byBytes, binary);
    expect(blobs.counts.reduce((a, b) => a + b, 0)).toBe(20_000);
    for (const n of blobs.counts) expect(Math.abs(n - 5_000)).toBeLessThan(5_000 / 8);
  });

  it("keeps a bounded sample when the table is far larger than estimated (the step doubles)", async () => {
    const key: KeyColumn[] = [{ source: "code", name: "code", kind: "string" }];
    const sample = await sampleKeys(source, table("codes", key), 3);
    expect(sample.keys.length).toBeLessThanOrEqual(MAX_SAMPLES);
    expect(sample.step).toBe(12);
    expect(sample.keys.length * sample.step + sample.tail).toBe(30_000);
  });

  it("covers every row exactly once while an application inserts and deletes during the plan", async () => {
    await db.admin.query("CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY, note VARCHAR(20))");
    await db.admin.query("INSERT INTO orders SELECT seq, 'seed' FROM seq_1_to_100000");
    await db.admin.query("ANALYZE TABLE orders");
    const key: KeyColumn[] = [{ source: "id", name: "id", kind: "integer" }];
    const writing = runLiveWriter({
      database: DATABASE,
      tables: [{ name: "orders", insert: "(id, note) SELECT 100000 + FLOOR(RAND() * 900000), 'live' ON DUPLICATE KEY UPDATE note = 'again'" }],
      durationMs: 1500,
      autocommitSessions: 3,
      transactionSessions: 1,
      openForMs: { min: 200, max: 800 },
      deleteBelowId: 100_000,
      seed: 7,
    });
    const planned: KeyRange[][] = [];
    const until = Date.now() + 1200;
    while (Date.now() < until) planned.push(await planKeyRanges(source, table("orders", key), 4, 4));
    const written = await writing;
    expect(written.inserted + written.deleted.get("orders")!.size).toBeGreaterThan(0);
    expect(planned.length).toBeGreaterThan(0);
    // Whatever the writer did while each plan was made, the table as it is now falls into each plan's ranges once.
    for (const ranges of planned) {
      const { counts, total } = await rangeCounts("orders", ranges, key);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    }
  });
});
