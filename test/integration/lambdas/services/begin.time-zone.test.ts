/**
 * lambdas/services/begin.ts on real MariaDB, with an application whose sessions run in another zone and transactions
 * that stay open: a DATETIME cursor written with NOW() at '+08:00' lands after settle_seconds once the source's
 * time_zone says so (8 hours later before); a TIMESTAMP cursor is UTC whatever the session's zone; the transaction
 * horizon keeps a run's ceiling below an open transaction's rows (lookback 0: the horizon alone), and a sync user
 * without PROCESS is told so in the summary line, not failed.
 */
import { setTimeout as sleep } from "node:timers/promises";
import mysql from "mysql2/promise";
import { describe, expect, it } from "vitest";
import type { ResolvedPipeline } from "#config/resolve.ts";
import {
  contextFor,
  MYSQL_URL,
  pipelineFromYaml,
  runExtraction,
  useExtractionFixture,
  whileUncommitted,
  type RunOutcome,
} from "../../../support/extraction.ts";

const DATABASE = "mrsync_test_begin_zone";
const fx = useExtractionFixture(DATABASE);

const rowsRead = (outcome: RunOutcome) => outcome.chunks.reduce((sum, c) => sum + c.rows, 0);
const withSource = (pipeline: ResolvedPipeline, source: Partial<ResolvedPipeline["source"]>): ResolvedPipeline => ({
  ...pipeline,
  source: { ...pipeline.source, ...source },
});

/** The application's session: its own zone. */
async function inZone(zone: string, sql: string): Promise<void> {
  const session = await mysql.createConnection({ uri: MYSQL_URL });
  try {
    await session.query(`SET time_zone = '${zone}'`);
    await session.query(`USE \`${DATABASE}\``);
    await session.query(sql);
  } finally {
    await session.end();
  }
}

describe("begin in the source's time zone", () => {
  it("a DATETIME cursor written with NOW() at +08:00 lands in the first run after settle_seconds once time_zone says +08:00", async () => {
    await fx.db.admin.query("CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, updated_at DATETIME(6) NOT NULL, KEY (updated_at, id))");
    await inZone("+08:00", "INSERT INTO orders SELECT seq, NOW(6) FROM seq_1_to_100");
    const tables = `  ${DATABASE}.orders: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, settle_seconds: 1 }`;
    const serverZone = contextFor(
      fx.s3,
      { ...pipelineFromYaml(DATABASE, tables), s3: { ...pipelineFromYaml(DATABASE, tables).s3, isolation_prefix: "server/" } },
      `${DATABASE}.orders`,
    );
    const shanghai = contextFor(fx.s3, withSource(pipelineFromYaml(DATABASE, tables), { time_zone: "Asia/Shanghai" }), `${DATABASE}.orders`);
    await sleep(1_500);
    const late = await runExtraction(serverZone, "zone-server");
    expect(rowsRead(late), "the server's zone is UTC: these rows look 8 hours in the future").toBe(0);
    expect(late.begin.settle?.zone).toBe("SYSTEM (UTC)");
    const read = await runExtraction(shanghai, "zone-shanghai");
    expect(rowsRead(read)).toBe(100);
    expect(read.begin.settle?.zone).toBe("Asia/Shanghai");
  });

  it("a TIMESTAMP cursor is UTC whatever zone the application's session writes in", async () => {
    await fx.db.admin.query("CREATE TABLE events (id INT NOT NULL PRIMARY KEY, at TIMESTAMP(6) NOT NULL, KEY (at, id))");
    await inZone("+08:00", "INSERT INTO events SELECT seq, NOW(6) FROM seq_1_to_50");
    const tables = `  ${DATABASE}.events: { cdc_strategy: hybrid, cdc_timestamp_column: at, settle_seconds: 1 }`;
    // A configured zone does not apply to TIMESTAMP: its values are read in UTC.
    const context = contextFor(fx.s3, withSource(pipelineFromYaml(DATABASE, tables), { time_zone: "-05:00" }), `${DATABASE}.events`);
    await sleep(1_500);
    const outcome = await runExtraction(context, "zone-timestamp");
    expect(rowsRead(outcome)).toBe(50);
    expect(outcome.begin.settle?.zone).toBe("UTC (a TIMESTAMP column)");
  });
});

describe("the transaction horizon", () => {
  it("holds the ceiling below a transaction still writing, so its row (NOW() at its insert) is not passed over — no lookback needed", async () => {
    await fx.db.admin.query(
      "CREATE TABLE payments (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY (updated_at, id))",
    );
    await fx.db.admin.query("INSERT INTO payments (updated_at) SELECT NOW(6) - INTERVAL 1 HOUR FROM seq_1_to_20");
    const tables = `  ${DATABASE}.payments: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, settle_seconds: 1, lookback_seconds: 0 }`;
    const context = contextFor(fx.s3, pipelineFromYaml(DATABASE, tables), `${DATABASE}.payments`);
    expect(rowsRead(await runExtraction(context, "horizon-1"))).toBe(20);
    await whileUncommitted(`INSERT INTO ${DATABASE}.payments () VALUES ()`, async () => {
      await sleep(1_200);
      // Rows committed after the transaction's insert, settled by now: without the horizon they would move the
      // cursor past the open transaction's row.
      await fx.db.admin.query("INSERT INTO payments () VALUES (), ()");
      await sleep(1_500);
      const held = await runExtraction(context, "horizon-2");
      expect(held.begin.settle?.heldBackSeconds).toBeGreaterThan(1);
      expect(held.begin.settle?.horizon).toMatch(/^held the ceiling back \d+\.\d s below the settle window: a transaction writing since /);
      expect(rowsRead(held), "nothing newer than the open transaction's start").toBe(0);
    });
    await sleep(1_200);
    const after = await runExtraction(context, "horizon-3");
    expect(rowsRead(after), "the transaction's row and the two after it").toBe(3);
    expect(after.begin.settle?.horizon).toBe("no write transaction open");
  });

  it("a sync user without PROCESS is not failed: the summary line says the horizon was not read", async () => {
    await fx.db.admin.query("CREATE TABLE notes (id INT NOT NULL PRIMARY KEY, at DATETIME(6) NOT NULL, KEY (at, id))");
    await fx.db.admin.query("INSERT INTO notes SELECT seq, NOW(6) - INTERVAL 1 HOUR FROM seq_1_to_10");
    await fx.db.admin.query("DROP USER IF EXISTS 'mrsync_noprocess'@'%'");
    await fx.db.admin.query("CREATE USER 'mrsync_noprocess'@'%' IDENTIFIED BY 'np-secret'");
    await fx.db.admin.query(`GRANT SELECT ON \`${DATABASE}\`.* TO 'mrsync_noprocess'@'%'`);
    try {
      const tables = `  ${DATABASE}.notes: { cdc_strategy: timestamp_only, cdc_timestamp_column: at }`;
      const context = contextFor(
        fx.s3,
        withSource(pipelineFromYaml(DATABASE, tables), { username: "mrsync_noprocess", password: "np-secret" }),
        `${DATABASE}.notes`,
      );
      const outcome = await runExtraction(context, "noprocess");
      expect(rowsRead(outcome)).toBe(10);
      expect(outcome.begin.settle?.horizon).toBe("not read (the sync user lacks PROCESS, which INNODB_TRX needs): settle and re-reads only");
    } finally {
      await fx.db.admin.query("DROP USER IF EXISTS 'mrsync_noprocess'@'%'");
    }
  });
});
