/**
 * The Data API failing with 503s (or throttling) for longer than the SDK's own attempts: the handlers' calls (AwaitLoad's
 * polls included) go through a loopback proxy that answers 503 to a run of requests. The
 * state machine retries them by name, and the load completes exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATA_API_MAX_ATTEMPTS } from "#adapters/redshift-data.ts";
import type { RunSummary } from "#domain/run-summary.ts";
import { LocalStateMachine } from "#local/stepfunctions/runner.ts";
import { startFaultyProxy, type FaultyProxy } from "../support/faulty-proxy.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_test_warehouse_faults";
const TABLE = `${DB}.payments`;
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: faults, source: test_mysql, target: test_redshift, staging: test_staging, s3: { isolation_prefix: faults/ } }
tables:
  ${TABLE}: { cdc_strategy: id_only, processing: { batch_size: 500 } }
`,
);
const UNAVAILABLE = JSON.stringify({ __type: "ServiceUnavailableException", message: "Service is unavailable, try again later" });
let proxy: FaultyProxy;

beforeAll(async () => {
  proxy = await startFaultyProxy(fx.warehouse.server.endpoint);
  // The handlers create their Data API client on first use, from this variable: through the proxy.
  process.env.AWS_ENDPOINT_URL_REDSHIFT_DATA = proxy.endpoint;
});
afterAll(async () => {
  await proxy.close();
});

describe("Data API 5xx beyond the SDK's attempts", () => {
  it("retries the load by name when 503s outlast the SDK's attempts; the load completes exactly once", async () => {
    await fx.db.admin.query(`CREATE TABLE ${TABLE} (id INT NOT NULL PRIMARY KEY, amount DECIMAL(12,2) NOT NULL)`);
    await fx.db.admin.query(`INSERT INTO ${TABLE} SELECT seq, seq / 9 FROM seq_1_to_2000`);
    const machine = new LocalStateMachine({ handlers: fx.handlers, retryDelayMs: 5 });
    // The first Data API call (SubmitLoad's) and its SDK retries, then the state machine's retry's first attempts too.
    const failures = DATA_API_MAX_ATTEMPTS * 2 + 1;
    const before = proxy.seen();
    proxy.fail(failures, 503, UNAVAILABLE);
    const execution = await machine.startExecution({ pipeline: "faults", tables: [TABLE] });
    expect(execution.status, execution.cause).toBe("SUCCEEDED");
    expect(proxy.seen() - before).toBeGreaterThan(failures);
    const line = (execution.output as RunSummary).table_results[TABLE];
    expect(line).toMatchObject({ status: "success", rows_processed: 2_000, rows_loaded: 2_000 });
    expect(line?.validation).toMatch(/^passed/);
    const loaded = await fx.warehouse.redshift.query(`SELECT count(*), count(DISTINCT id) FROM public.payments`);
    expect(loaded.rows[0]?.map(Number)).toEqual([2_000, 2_000]);
    const ledger = await fx.warehouse.redshift.query(`SELECT count(*) FROM public.mrsync_ledger__payments`);
    expect(Number(ledger.rows[0]?.[0]), "one load, applied once").toBe(1);
  });

  it("a Data API that stays down fails the table clearly after the retries; the next run loads what was left", async () => {
    await fx.db.admin.query(`INSERT INTO ${TABLE} SELECT 2000 + seq, seq FROM seq_1_to_10`);
    const machine = new LocalStateMachine({ handlers: fx.handlers, retryDelayMs: 5 });
    proxy.fail(10_000, 503, UNAVAILABLE);
    const execution = await machine.startExecution({ pipeline: "faults", tables: [TABLE] });
    proxy.fail(0);
    expect(execution.status).toBe("FAILED");
    const cause = execution.cause ?? "";
    const summary = JSON.parse(cause.slice(cause.indexOf("\n") + 1)) as RunSummary;
    expect(summary.table_results[TABLE]).toMatchObject({ status: "failed", error_type: "WarehouseUnavailableError" });
    expect(summary.table_results[TABLE]?.error_message).toMatch(
      /^Redshift Data API \w+: ServiceUnavailableException \(Service is unavailable, try again later\); retried by the state machine/,
    );
    const again = await machine.startExecution({ pipeline: "faults", tables: [TABLE] });
    expect(again.status, again.cause).toBe("SUCCEEDED");
    expect((again.output as RunSummary).table_results[TABLE]).toMatchObject({ status: "success", rows_loaded: 10 });
  });
});
