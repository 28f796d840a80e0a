/**
 * A MySQL connection that dies mid-read, on real MariaDB: `KILL` of the extraction's connection or of its query from
 * a second session fails the chunk at once with SourceUnavailableError (the state machine retries it by name), and
 * the retry completes the table with every row exactly once. A stalled read is abandoned after its bound.
 */
import type { RowDataPacket } from "mysql2/promise";
import { describe, expect, it } from "vitest";
import { connectSource, SourceUnavailableError, streamQuery } from "#adapters/mysql.ts";
import { begin } from "#services/begin.ts";
import { extractChunk } from "#services/extract-chunk.ts";
import { contextFor, extractUntilDone, pipelineFromYaml, useExtractionFixture } from "../../../support/extraction.ts";

const DATABASE = "mrsync_test_faults";
const fx = useExtractionFixture(DATABASE);

/** KILLs (the connection, or only its query) the first session that runs a query on `table`, once it streams. */
async function killWhenStreaming(table: string, what: "CONNECTION" | "QUERY"): Promise<number> {
  for (let attempt = 0; attempt < 2_000; attempt++) {
    const [rows] = await fx.db.admin.query<RowDataPacket[]>(
      "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND INFO NOT LIKE '%PROCESSLIST%' AND INFO NOT LIKE 'SELECT COUNT(*)%'",
      [`SELECT %FROM \`${DATABASE}\`.\`${table}\`%`],
    );
    const id = rows[0]?.ID as number | undefined;
    if (id !== undefined) {
      await fx.db.admin.query(`KILL ${what} ${id}`);
      return id;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no query on ${table} seen`);
}

describe("a MySQL connection killed mid-read", () => {
  it.each(["CONNECTION", "QUERY"] as const)(
    "KILL %s fails the chunk within seconds as SourceUnavailableError; the retry completes the table exactly once",
    async (what) => {
      const table = `wide_${what.toLowerCase()}`;
      await fx.db.admin.query(`CREATE TABLE ${table} (id INT NOT NULL PRIMARY KEY, payload VARCHAR(200) NOT NULL)`);
      await fx.db.admin.query(`INSERT INTO ${table} SELECT seq, REPEAT(CONCAT('row ', seq, ' '), 12) FROM seq_1_to_300000`);
      const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.${table}: { cdc_strategy: id_only, processing: { batch_size: 300000 } }`);
      const context = contextFor(fx.s3, pipeline, `${DATABASE}.${table}`);
      const started = await begin(context, `run-${table}`);

      const before = Date.now();
      const [outcome] = await Promise.allSettled([
        extractChunk(context, { runId: `run-${table}`, schemaKey: started.schemaKey }),
        killWhenStreaming(table, what),
      ]);
      expect(outcome.status).toBe("rejected");
      const failure = (outcome as PromiseRejectedResult).reason as Error;
      expect(failure).toBeInstanceOf(SourceUnavailableError);
      expect(failure.message).toMatch(/^MySQL at 127\.0\.0\.1: .*retried by the state machine/);
      expect(Date.now() - before, "failed at once, not after the task timeout").toBeLessThan(30_000);

      // What the state machine's retry does: the same chunk again, from the committed cursor.
      const chunks = await extractUntilDone(context, `run-${table}`, started.schemaKey);
      const files = chunks.flatMap((c) => (c.file === undefined ? [] : [c.file]));
      const ids = await fx.reader.read(await fx.reader.fetch(fx.s3, files), "count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS d, max(id)::INTEGER AS m");
      expect(ids).toEqual([{ n: 300_000, d: 300_000, m: 300_000 }]);
    },
  );

  it("abandons a read that yields no row for its bound", async () => {
    const connection = await connectSource(pipelineFromYaml(DATABASE, `  ${DATABASE}.x: { cdc_strategy: full_sync }`).source, {
      username: "root",
      password: "",
    });
    const failure = streamQuery(
      connection,
      { sql: "SELECT 1 FROM seq_1_to_3 WHERE SLEEP(5) = 0", params: [] },
      { row: () => true, backpressure: () => undefined },
      1,
    );
    await expect(failure).rejects.toThrow(/no row for 1 s mid-read/);
    await expect(failure).rejects.toBeInstanceOf(SourceUnavailableError);
  });
});

describe("source sessions", () => {
  it("are read-only: a write through an extraction session is refused by MySQL itself; only the cleanup's write session can", async () => {
    await fx.db.admin.query("CREATE TABLE guarded (id INT PRIMARY KEY)");
    await fx.db.admin.query("INSERT INTO guarded VALUES (1), (2)");
    const source = pipelineFromYaml(DATABASE, `  ${DATABASE}.guarded: { cdc_strategy: id_only }`).source;
    const read = await connectSource(source, { username: "root", password: "" });
    try {
      await expect(read.query(`DELETE FROM ${DATABASE}.guarded`)).rejects.toMatchObject({ errno: 1792 });
      // A locking read too: it would block the source's writers.
      await expect(read.query(`SELECT COUNT(*) AS n FROM ${DATABASE}.guarded FOR UPDATE`)).rejects.toMatchObject({ errno: 1792 });
      await expect(read.query(`SELECT COUNT(*) AS n FROM ${DATABASE}.guarded`).then(([rows]) => rows)).resolves.toEqual([{ n: "2" }]);
    } finally {
      await read.end();
    }
    const write = await connectSource(source, { username: "root", password: "" }, "write");
    try {
      await write.query(`DELETE FROM ${DATABASE}.guarded WHERE id = 2`);
    } finally {
      await write.end();
    }
    const [rows] = await fx.db.admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM guarded");
    expect(Number(rows[0]?.n)).toBe(1);
  });
});
