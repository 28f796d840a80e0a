/**
 * lambdas/services/begin.ts on real MariaDB: an id_only table's rows committed late into a recent window — an
 * auto-increment id a transaction took before a run's ceiling and committed after the run, or after several — are
 * read by the run after the commit, which reads that window again and no other (its cursor stays where it was).
 */
import { describe, expect, it } from "vitest";
import { getWatermark } from "#services/watermarks.ts";
import { contextFor, pipelineFromYaml, runExtraction, useExtractionFixture, whileUncommitted, type RunOutcome } from "../../../support/extraction.ts";

const DATABASE = "mrsync_test_begin";
const fx = useExtractionFixture(DATABASE);

const files = (outcome: RunOutcome) => outcome.chunks.flatMap((c) => (c.file === undefined ? [] : [c.file]));
async function idsIn(outcome: RunOutcome): Promise<number[]> {
  const keys = files(outcome);
  if (keys.length === 0) return [];
  const rows = await fx.reader.read(await fx.reader.fetch(fx.s3, keys), "id::INTEGER AS v");
  return rows.map((r) => Number(r.v)).sort((a, b) => a - b);
}
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
// Rows listed in VALUES: a "simple insert", whose auto-increment ids are consecutive (INSERT … SELECT reserves ahead).
const amounts = (from: number, to: number) =>
  range(from, to)
    .map((n) => `(${n})`)
    .join(", ");

describe("begin on an id_only table", () => {
  it("re-reads the last window when a row committed into it after the run (a long transaction's auto-increment id), and only then", async () => {
    await fx.db.admin.query("CREATE TABLE settlements (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)");
    await fx.db.admin.query(`INSERT INTO settlements (amount) VALUES ${amounts(1, 100)}`);
    const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.settlements: { cdc_strategy: id_only, processing: { batch_size: 7 } }`);
    const context = contextFor(fx.s3, pipeline, `${DATABASE}.settlements`);
    expect(await idsIn(await runExtraction(context, "run-1"))).toEqual(range(1, 100));

    // A batch job's transaction takes id 101 and stays open while other sessions commit 102..120.
    await whileUncommitted(`INSERT INTO ${DATABASE}.settlements (amount) VALUES (101)`, async () => {
      await fx.db.admin.query(`INSERT INTO settlements (amount) VALUES ${amounts(102, 120)}`);
      const second = await runExtraction(context, "run-2");
      expect(second.begin.lateRows).toBe(0);
      expect(await idsIn(second), "101 is not committed yet").toEqual(range(102, 120));
    });
    // 101 is now behind the cursor (120); the last window (100, 120] holds 20 rows where 19 were read.
    await fx.db.admin.query("INSERT INTO settlements (amount) VALUES (121)");
    const third = await runExtraction(context, "run-3");
    expect(third.begin.lateRows).toBe(1);
    expect(third.begin.cursor.key, "the run's own window starts at the cursor").toEqual(["120"]);
    expect(await idsIn(third), "the new row, and the late window again with 101; not the first window").toEqual(range(101, 121));

    // Nothing arrived late since: the next run reads only what is new.
    await fx.db.admin.query("INSERT INTO settlements (amount) VALUES (122)");
    const fourth = await runExtraction(context, "run-4");
    expect(fourth.begin.lateRows).toBe(0);
    expect(await idsIn(fourth)).toEqual([122]);
    // The windows kept: each run's own; the re-read one counts what its re-read read.
    const windows = (await getWatermark(context))?.mysql_state.recent_windows.map((w) => [w.start?.key ?? null, w.end.key, w.rows]);
    expect(windows).toEqual([
      [null, ["100"], 100],
      [["100"], ["120"], 20],
      [["120"], ["121"], 1],
      [["121"], ["122"], 1],
    ]);
  });

  it("takes an operator's cursor as given: a window read before `watermark set` is not counted again", async () => {
    await fx.db.admin.query("CREATE TABLE ledger (id INT NOT NULL PRIMARY KEY)");
    await fx.db.admin.query("INSERT INTO ledger SELECT seq * 2 FROM seq_1_to_50");
    const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.ledger: { cdc_strategy: id_only }`);
    const context = contextFor(fx.s3, pipeline, `${DATABASE}.ledger`);
    await runExtraction(context, "ledger-1");
    const { setWatermark } = await import("#services/watermarks.ts");
    await setWatermark(context, { key: ["100"] });
    // An odd id inside the window read before the operator moved the cursor: the operator's choice stands.
    await fx.db.admin.query("INSERT INTO ledger VALUES (51), (101)");
    const next = await runExtraction(context, "ledger-2");
    expect(next.begin.lateRows).toBe(0);
    expect(await idsIn(next)).toEqual([101]);
  });

  it("catches a row whose transaction stayed open across two runs: the run after its commit re-reads the window it belongs to, and only that one", async () => {
    await fx.db.admin.query("CREATE TABLE payouts (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)");
    await fx.db.admin.query(`INSERT INTO payouts (amount) VALUES ${amounts(1, 10)}`);
    const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.payouts: { cdc_strategy: id_only }`);
    const context = contextFor(fx.s3, pipeline, `${DATABASE}.payouts`);
    await runExtraction(context, "payouts-1");
    await whileUncommitted(`INSERT INTO ${DATABASE}.payouts (amount) VALUES (11)`, async () => {
      await fx.db.admin.query(`INSERT INTO payouts (amount) VALUES ${amounts(12, 20)}`);
      expect(await idsIn(await runExtraction(context, "payouts-2"))).toEqual(range(12, 20));
      await fx.db.admin.query(`INSERT INTO payouts (amount) VALUES ${amounts(21, 30)}`);
      const third = await runExtraction(context, "payouts-3");
      expect(third.begin.lateRows, "11 is still uncommitted").toBe(0);
      expect(await idsIn(third)).toEqual(range(21, 30));
    });
    await fx.db.admin.query("INSERT INTO payouts (amount) VALUES (31)");
    const fourth = await runExtraction(context, "payouts-4");
    expect(fourth.begin.lateRows).toBe(1);
    expect(fourth.begin.cursor.key).toEqual(["30"]);
    expect(await idsIn(fourth), "the window 11 belongs to, two runs back, and the new row: not the window between").toEqual([...range(11, 20), 31]);
  });

  it("on a composite key (a history table paged on (emp_no, from_date)): a row inserted into a window two runs back is read again, once", async () => {
    await fx.db.admin.query("CREATE TABLE salaries (emp_no INT NOT NULL, from_date DATE NOT NULL, salary INT NOT NULL, PRIMARY KEY (emp_no, from_date))");
    await fx.db.admin.query("INSERT INTO salaries SELECT 10000 + e.seq, DATE('2020-01-01') + INTERVAL y.seq YEAR, 50000 FROM seq_1_to_10 e, seq_0_to_2 y");
    const pipeline = pipelineFromYaml(DATABASE, `  ${DATABASE}.salaries: { cdc_strategy: id_only, processing: { batch_size: 4 } }`);
    const context = contextFor(fx.s3, pipeline, `${DATABASE}.salaries`);
    const keysIn = async (outcome: RunOutcome) =>
      (await fx.reader.read(await fx.reader.fetch(fx.s3, files(outcome)), "emp_no || '/' || from_date::VARCHAR AS v")).map((r) => String(r.v)).sort();
    await runExtraction(context, "salaries-1");
    await fx.db.admin.query("INSERT INTO salaries VALUES (10011, '2020-01-01', 50000), (10011, '2021-01-01', 50000)");
    await runExtraction(context, "salaries-2");
    await fx.db.admin.query("INSERT INTO salaries VALUES (10012, '2020-01-01', 50000)");
    await runExtraction(context, "salaries-3");
    // Equal salaries everywhere; a raise recorded late for 10011, between the rows the second run read.
    await fx.db.admin.query("INSERT INTO salaries VALUES (10011, '2020-06-01', 51000)");
    const fourth = await runExtraction(context, "salaries-4");
    expect(fourth.begin.lateRows).toBe(1);
    expect(fourth.begin.cursor.key).toEqual(["10012", "2020-01-01"]);
    expect(await keysIn(fourth), "the second run's window again, with the late row").toEqual(["10011/2020-01-01", "10011/2020-06-01", "10011/2021-01-01"]);
  });
});
