/**
 * lambdas/services/sync-context.ts on real MariaDB: a table's source session (withTableSource) is closed after its
 * work, and a column dropped since Begin makes the next run discover the table again instead of failing on the cached
 * columns until the cache expires.
 */
import type { RowDataPacket } from "mysql2/promise";
import { describe, expect, it, vi } from "vitest";
import { discoverTable } from "#adapters/mysql.ts";
import { failRun } from "#domain/watermark.ts";
import { begin } from "#services/begin.ts";
import { extractChunk } from "#services/extract-chunk.ts";
import { updateWatermark, withTableSource } from "#services/sync-context.ts";
import { contextFor, pipelineFromYaml, useExtractionFixture } from "../../../support/extraction.ts";

const DATABASE = "mrsync_test_sync_context";
const fx = useExtractionFixture(DATABASE);

// The server drops a closed session from its process list a moment after the client's end() returns.
const noSessionsLeft = () =>
  vi.waitFor(
    async () => {
      expect(await sessions()).toBe(0);
    },
    { timeout: 3000 },
  );
const sessions = async () => {
  const [rows] = await fx.db.admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", [
    DATABASE,
  ]);
  return Number(rows[0]?.n);
};

describe("withTableSource", () => {
  it("after a column is dropped since Begin, the failed chunk makes the next Begin see the table as it is now", async () => {
    await fx.db.admin.query("CREATE TABLE shrinking (id INT NOT NULL PRIMARY KEY, kept INT NOT NULL, dropped VARCHAR(20))");
    await fx.db.admin.query("INSERT INTO shrinking VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, NULL)");
    const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.shrinking: { cdc_strategy: id_only }`);
    const context = contextFor(fx.s3, pipeline, `${DATABASE}.shrinking`);
    const first = await begin(context, "run-1");
    expect(first.columns).toBe(3);

    await fx.db.admin.query("ALTER TABLE shrinking DROP COLUMN dropped");
    await expect(extractChunk(context, { runId: "run-1", schemaKey: first.schemaKey })).rejects.toMatchObject({ errno: 1054 });
    await noSessionsLeft();
    await updateWatermark(context, (current) => failRun(current, "run-1", "Unknown column", context.now()));

    // Without forgetting, Begin would take the cached three columns for an hour and every chunk would fail again.
    const second = await begin(context, "run-2");
    expect(second.columns).toBe(2);
    const columns = await withTableSource(context, (connection) => discoverTable(connection, DATABASE, "shrinking"));
    expect(columns.columns.map((c) => c.name)).toEqual(["id", "kept"]);
  });

  it("closes the session whether the work succeeds or fails, and passes the work's error on", async () => {
    await fx.db.admin.query("CREATE TABLE closed (id INT NOT NULL PRIMARY KEY)");
    const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.closed: { cdc_strategy: id_only }`);
    const context = contextFor(fx.s3, pipeline, `${DATABASE}.closed`);
    const failure = new Error("the work failed");
    await expect(
      withTableSource(context, async (connection) => {
        await connection.query(`SELECT * FROM ${DATABASE}.closed`);
        throw failure;
      }),
    ).rejects.toBe(failure);
    await noSessionsLeft();
    await expect(withTableSource(context, async (connection) => (await connection.query(`SELECT 1 AS one`))[0])).resolves.toEqual([{ one: 1 }]);
    await noSessionsLeft();
  });
});
