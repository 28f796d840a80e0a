/**
 * A local run killed with SIGKILL mid-extraction keeps its table's lease. The next run is refused with a message
 * naming the holder and `mrsync watermark release`; release refuses while the process lives and frees the lease once
 * it is gone; the next run then resumes from the last committed chunk (not from zero), every row exactly once.
 */
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { run } from "../../cli/main.ts";
import { loadPipeline } from "#config/loader.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { getWatermark } from "#services/watermarks.ts";
import { runCli, startLocalSync } from "../support/cli.ts";
import { contextFor } from "../support/extraction.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_crash";
const TABLE = `${DB}.ledger`;
const ROWS = 30_000;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: crash, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: crash/ } }
tables:
  ${TABLE}: { cdc_strategy: id_only, processing: { batch_size: 200 } }
`,
);
const mrsync = (...args: string[]) => runCli(fx.configDir, args);
const watermark = async () => getWatermark(contextFor(fx.s3, await loadPipeline(fx.configDir, "crash"), TABLE));

describe("a crashed local run", () => {
  it("is released by mrsync watermark release once its process is gone, and the next run resumes from the last committed chunk", async () => {
    await fx.db.admin.query(`CREATE TABLE ${TABLE} (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${TABLE} SELECT seq, seq / 7 FROM seq_1_to_${ROWS}`);
    const { child, exited } = startLocalSync(fx.configDir, "crash", TABLE);
    let committed = 0;
    for (let i = 0; i < 3_000 && committed < 5; i++) {
      committed = (await watermark())?.mysql_state.next_chunk ?? 0;
      if (committed < 5) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(committed, "the run committed chunks before the kill").toBeGreaterThanOrEqual(5);

    const whileAlive = await mrsync("watermark", "release", "-p", "crash", "-t", TABLE);
    expect(whileAlive.code).toBe(1);
    expect(whileAlive.stderr).toMatch(new RegExp(`not released: run .* may still be running — process ${child.pid ?? "?"} on this host is alive`));

    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const killedAt = await watermark();
    const cursorAtKill = Number(killedAt?.last_processed_id);
    expect(killedAt?.mysql_state.status).toBe("in_progress");
    expect(cursorAtKill).toBeGreaterThan(0);
    expect(cursorAtKill).toBeLessThan(ROWS);

    const refused = await mrsync("sync", "pipeline", "-p", "crash", "-t", TABLE, "--local", "--wait", "--json");
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toContain(`mrsync watermark release -p crash -t ${TABLE}`);
    expect(refused.stdout + refused.stderr).toContain(`process ${child.pid ?? "?"}`);

    const released = await mrsync("watermark", "release", "-p", "crash", "-t", TABLE);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain("released run");
    expect((await mrsync("watermark", "release", "-p", "crash", "-t", TABLE)).stdout).toContain("nothing to release");

    const resumed = await mrsync("--json", "sync", "pipeline", "-p", "crash", "-t", TABLE, "--local", "--wait");
    expect(resumed.code, resumed.stderr).toBe(0);
    const line = (JSON.parse(resumed.stdout) as RunSummary).table_results[TABLE];
    expect(line?.status).toBe("success");
    // Resumed after the last committed chunk: only the rest was read.
    expect(line?.rows_processed).toBe(ROWS - cursorAtKill);
    const loaded = await fx.warehouse.redshift.query(`SELECT count(*), count(DISTINCT id), min(id), max(id) FROM public.ledger`);
    expect(loaded.rows[0]?.map(Number)).toEqual([ROWS, ROWS, 1, ROWS]);
  });

  it("a deployed run's lease: refused while its execution is RUNNING (Step Functions mocked), released once it stopped", async () => {
    const context = contextFor(fx.s3, await loadPipeline(fx.configDir, "crash"), TABLE);
    const lease = new Date(Date.now() + 3_600_000).toISOString();
    await context.watermarks.update(context.watermarkKey, { pipeline: "crash", table: TABLE, strategy: "id_only" }, (w) => ({
      ...w,
      mysql_state: {
        ...w.mysql_state,
        status: "in_progress",
        run_id: "sync_20261130_000000_deadbeef",
        lease_expires_at: lease,
        lease_holder: { host: "169.254.76.1", pid: 8 },
      },
    }));
    const arn = "arn:aws:states:us-east-1:123456789012:stateMachine:sync";
    const release = async (...extra: string[]) => {
      process.exitCode = undefined;
      const code = await run(["--config-dir", fx.configDir, "-q", "watermark", "release", "-p", "crash", "-t", TABLE, ...extra]);
      process.exitCode = undefined;
      return code;
    };
    const sfn = mockClient(SFNClient);
    try {
      sfn
        .on(DescribeExecutionCommand)
        .resolvesOnce({ status: "RUNNING" } as never)
        .rejectsOnce(new ExecutionDoesNotExist({ message: "no such execution", $metadata: {} }))
        .resolvesOnce({ status: "TIMED_OUT" } as never);
      expect(await release(), "a lease begun on another host is not released on a guess").toBe(1);
      expect(await release("--state-machine-arn", arn)).toBe(1);
      expect(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input.executionArn).toBe(
        "arn:aws:states:us-east-1:123456789012:execution:sync:sync_20261130_000000_deadbeef",
      );
      expect(await release("--state-machine-arn", arn), "an execution the state machine does not know: refused").toBe(1);
      expect((await getWatermark(context))?.mysql_state.lease_expires_at).toBe(lease);
      expect(await release("--state-machine-arn", arn)).toBe(0);
      expect((await getWatermark(context))?.mysql_state.lease_expires_at).toBeNull();
    } finally {
      sfn.restore();
    }
  });
});
