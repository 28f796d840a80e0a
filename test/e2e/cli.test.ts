/**
 * The mrsync CLI as an operator runs it: a subprocess (`node bin/mrsync.ts …`) against the local stand-ins, with
 * only the environment a shell would have (config dir, endpoints). Output and exit codes checked; --json parsed.
 * The deployed path (`--state-machine-arn`) runs in-process with Step Functions mocked (AWS-only).
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { run } from "../../cli/main.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import type { Watermark } from "#domain/watermark.ts";
import { runCli } from "../support/cli.ts";
import { COMPLETION, usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_cli";
const TABLE = `${DB}.items`;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: cli, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: cli/ }, completion: { bucket: ${COMPLETION} } }
tables:
  ${TABLE}: { cdc_strategy: id_only, cdc_id_column: id, processing: { batch_size: 40 } }
`,
);

const mrsync = (...args: string[]) => runCli(fx.configDir, args);

async function seed(rows: number): Promise<void> {
  await fx.db.admin.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id INT PRIMARY KEY, label VARCHAR(20))`);
  await fx.db.admin.query(
    `INSERT INTO ${TABLE} SELECT seq, CONCAT('item ', seq) FROM seq_1_to_${rows} WHERE seq > (SELECT COALESCE(MAX(id), 0) FROM ${TABLE} t)`,
  );
}

const today = () => new Date().toISOString().slice(0, 10).replaceAll("-", "");

describe("mrsync (subprocess, local stand-ins)", () => {
  it("config: lists, validates and shows the effective settings; a wrong name is a usage error (2)", async () => {
    const listed = await mrsync("--json", "config", "list-pipelines");
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: "cli", tables: [TABLE] })]);
    expect((await mrsync("config", "validate")).stdout).toContain("ok: 1 pipeline(s): cli (1 tables)");
    const shown = JSON.parse((await mrsync("--json", "config", "show", "-p", "cli")).stdout) as {
      tables: Record<string, { processing: { batch_size: number } }>;
    };
    expect(shown.tables[TABLE]?.processing.batch_size).toBe(40);
    const wrong = await mrsync("config", "show", "-p", "nope");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('no pipeline named "nope"; known pipelines: cli');
    const usage = await mrsync("sync", "pipeline", "-p", "cli");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("give exactly one of --local (run it here) and --state-machine-arn <arn>");
  });

  it("sync pipeline --local --wait --json-output writes the seed-shaped summary and the markers", async () => {
    await seed(100);
    const file = path.join(await mkdtemp(path.join(tmpdir(), "mrsync-cli-")), "summary.json");
    const synced = await mrsync("sync", "pipeline", "-p", "cli", "-t", TABLE, "--local", "--wait", "--json-output", file);
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.stdout).toMatch(/^sync_\d{8}_\d{6}_[0-9a-f]{8}: success/);
    // Not a terminal: one plain progress line per finished table, on stderr.
    expect(synced.stderr).toMatch(new RegExp(`\\[1/1 tables\\] ${TABLE}: success, 100 rows read, 100 loaded, [\\d.]+s`));
    const summary = JSON.parse(await readFile(file, "utf8")) as RunSummary;
    expect(summary).toMatchObject({
      pipeline: "cli",
      status: "success",
      tables_requested: [TABLE],
      summary: { success_count: 1, failure_count: 0, total_rows_processed: 100 },
    });
    expect(summary.execution_id).toMatch(/^sync_/);
    // The run's cost and the table's, each the sum of its parts (test/e2e/cost.test.ts checks what they count).
    for (const cost of [summary.cost, summary.table_results[TABLE]?.cost]) {
      expect(cost?.total_usd).toBeCloseTo((cost?.step_functions_usd ?? 0) + (cost?.lambda_usd ?? 0) + (cost?.redshift_usd ?? 0) + (cost?.s3_usd ?? 0), 8);
      expect(cost?.state_transitions).toBeGreaterThan(0);
    }
    expect(Number((await fx.warehouse.redshift.query("SELECT count(*) FROM public.items")).rows[0]?.[0])).toBe(100);
    const listed = await mrsync("--json", "markers", "list", "-p", "cli", "--date", today());
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
  });

  it("s3clean deletes loaded files only (dry run first), never those pending load", async () => {
    await seed(120);
    const backup = await mrsync("sync", "pipeline", "-p", "cli", "--local", "--backup-only");
    expect(backup.code, backup.stderr).toBe(0);
    const pending = (JSON.parse((await mrsync("--json", "watermark", "get", "-p", "cli", "-t", TABLE)).stdout) as Watermark).s3_state.backup_s3_files;
    expect(pending).toHaveLength(1);
    const listed = JSON.parse((await mrsync("--json", "s3clean", "list", "-p", "cli", "-t", TABLE, "--older-than", "0s")).stdout) as {
      deletable: { key: string }[];
      pending: string[];
    };
    expect(listed.pending).toEqual(pending);
    expect(listed.deletable.map((f) => f.key)).not.toContain(pending[0]);
    expect(listed.deletable.some((f) => f.key.endsWith(".parquet")) && listed.deletable.some((f) => f.key.endsWith(".manifest"))).toBe(true);
    const dry = await mrsync("s3clean", "clean", "-p", "cli", "-t", TABLE, "--older-than", "0s");
    expect(dry.stdout).toContain(`dry run: would delete ${listed.deletable.length} file(s)`);
    const cleaned = await mrsync("s3clean", "clean", "-p", "cli", "-t", TABLE, "--older-than", "0s", "--force");
    expect(cleaned.stdout).toContain(`deleted ${listed.deletable.length} file(s); 1 pending load kept`);
    expect(await fx.s3.store.head("staging", pending[0] ?? "")).toBeDefined();
    const load = await mrsync("sync", "pipeline", "-p", "cli", "--local", "--redshift-only");
    expect(load.code, load.stderr).toBe(0);
    expect(Number((await fx.warehouse.redshift.query("SELECT count(*) FROM public.items")).rows[0]?.[0])).toBe(120);
  });

  it("status shows each table's state; connections test reaches MySQL, S3 and the Data API", async () => {
    const status = JSON.parse((await mrsync("--json", "status", "-p", "cli")).stdout) as {
      tables: { table: string; status: string; lease: string; rowsLoaded: number }[];
    };
    expect(status.tables).toEqual([expect.objectContaining({ table: TABLE, status: "success", lease: "free", rowsLoaded: 120 })]);
    const tested = await mrsync("--json", "connections", "test");
    expect(tested.code, tested.stderr).toBe(0);
    const checks = JSON.parse(tested.stdout) as { kind: string; ok: boolean; detail: string }[];
    expect(checks.map((c) => [c.kind, c.ok])).toEqual([
      ["source", true],
      ["staging", true],
      ["target", true],
    ]);
    expect(checks[0]?.detail).toMatch(/MariaDB|MySQL/);
    // The zone DATETIME cursors are compared in: the server's own here (no time_zone in connections.yml).
    expect(checks[0]?.detail).toMatch(/; DATETIME cursors in SYSTEM \(\w+\) \(the server's own zone\), TIMESTAMP in UTC; transaction horizon readable$/);
    expect(checks[2]?.detail).toBe(`Data API → workgroup local, database ${DB}, schema public`);
    expect((await mrsync("connections", "test", "-c", "nope")).code).toBe(2);
  });

  it("watermark: get shows the cursor; reset needs --yes; set moves the cursor", async () => {
    const got = await mrsync("--json", "watermark", "get", "-p", "cli", "-t", TABLE);
    expect((JSON.parse(got.stdout) as Watermark).last_processed_id).toBe("120");
    expect((await mrsync("watermark", "get", "-p", "cli", "-t", TABLE, "--show-files")).stdout).toMatch(/lease: +free[\s\S]*loaded +cli\/incremental\//);
    const refused = await mrsync("watermark", "reset", "-p", "cli", "-t", TABLE);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("not reset: confirm with --yes");
    expect((JSON.parse((await mrsync("--json", "watermark", "get", "-p", "cli", "-t", TABLE)).stdout) as Watermark).last_processed_id).toBe("120");
    const moved = await mrsync("--json", "watermark", "set", "-p", "cli", "-t", TABLE, "--id", "60");
    expect((JSON.parse(moved.stdout) as Watermark).last_processed_id).toBe("60");
    expect((await mrsync("watermark", "set", "-p", "cli", "-t", TABLE, "--id", "x1")).code).toBe(2);
    const reset = await mrsync("--json", "watermark", "reset", "-p", "cli", "-t", TABLE, "--yes");
    expect((JSON.parse(reset.stdout) as Watermark).last_processed_id).toBeNull();
  });

  it("markers wait returns as soon as the marker appears, and times out with exit 1 otherwise", async () => {
    // Start from an empty completion bucket (the sync above wrote today's marker).
    await fx.s3.store.delete(
      COMPLETION,
      (await fx.s3.store.listAll(COMPLETION, "")).map((o) => o.key),
    );
    const started = Date.now();
    const waiting = mrsync("--json", "markers", "wait", "-m", "cli/*", "--poke", "0.2s", "--max-poke", "0.4s", "--timeout", "30s");
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const folder = `completion_markers/cli/${TABLE}/${today()}_120000/`;
    await fx.s3.store.putJson(COMPLETION, `${folder}execution_metadata.json`, { execution_id: "sync_x", summary: { total_rows_processed: 7 } });
    await fx.s3.store.putJson(COMPLETION, `${folder}table_metrics.json`, {});
    await fx.s3.store.putText(COMPLETION, `${folder}completion_marker.txt`, "SYNC_COMPLETED\n");
    const done = await waiting;
    expect(done.code, done.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(JSON.parse(done.stdout)).toEqual([
      expect.objectContaining({
        table: TABLE,
        key: `${folder}completion_marker.txt`,
        metadata: { execution_id: "sync_x", summary: { total_rows_processed: 7 } },
      }),
    ]);

    const late = await mrsync("markers", "wait", "-m", `cli/${TABLE}`, "--date", "20200101", "--poke", "0.2s", "--timeout", "1s");
    expect(late.code).toBe(1);
    expect(late.stderr).toContain(`timed out after 1s: no completion marker for 20200101 yet from cli/${TABLE}`);
  });
});

describe("mrsync sync --state-machine-arn (Step Functions mocked)", () => {
  const arn = "arn:aws:states:us-east-1:123456789012:stateMachine:sync";
  const summary = { execution_id: "sync_1", status: "partial_success", table_results: { [TABLE]: { status: "failed", error_message: "boom" } } };

  it("starts a named execution, follows it, writes the summary from a SyncFailed cause and exits 1", async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${arn}:x`, startDate: new Date() });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: "RUNNING" } as never)
      .resolves({ status: "FAILED", error: "SyncFailed", cause: `1 of 1 table(s) failed: ${TABLE} (E)\n${JSON.stringify(summary)}` } as never);
    const file = path.join(await mkdtemp(path.join(tmpdir(), "mrsync-cli-")), "summary.json");
    process.exitCode = undefined;
    const code = await run([
      "--config-dir",
      fx.configDir,
      "-q",
      "sync",
      "pipeline",
      "-p",
      "cli",
      "--state-machine-arn",
      arn,
      "--wait",
      "--poll-seconds",
      "0",
      "--json-output",
      file,
    ]);
    process.exitCode = undefined;
    expect(code).toBe(1);
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start?.stateMachineArn).toBe(arn);
    expect(start?.name).toMatch(/^sync_\d{8}_\d{6}_[0-9a-f]{8}$/);
    expect(JSON.parse(start?.input ?? "{}")).toEqual({ pipeline: "cli", mode: "full" });
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual(summary);
    sfn.restore();
  });
});
