/**
 * `mrsync smoke` against the stand-ins, as a platform team runs it after `cdk deploy` (here with --local: the same
 * ASL and handlers): every check passes on today's code, and a pipeline that is not made of throwaway tables is
 * refused before anything is touched.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";
import { usePipelineFixture } from "../support/pipeline-run.ts";

const DB = "mrsync_smoke_e2e";
const fx = usePipelineFixture(
  DB,
  () => `
pipeline: { name: smoke, source: test_mysql, target: test_redshift, staging: test_staging, processing: { batch_size: 500, max_parallel_tables: 2 }, s3: { isolation_prefix: smoke/ } }
tables:
  ${DB}.type_coverage: { cdc_strategy: id_only, cdc_id_column: id, target_name: mrsync_smoke_types, validation: { content_checksum: true } }
  ${DB}.settle_orders: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, cdc_id_column: id, target_name: mrsync_smoke_orders, validation: { content_checksum: true } }
`,
);

type SmokeReport = { passed: boolean; checks: { name: string; ok: boolean; detail: string }[] };

describe("mrsync smoke", () => {
  it("passes every check: each type, two tables at once, a child execution, a failed load run again at once", async () => {
    const smoke = await runCli(fx.configDir, ["--json", "--local", "smoke", "-p", "smoke"]);
    const report = JSON.parse(smoke.stdout) as SmokeReport;
    expect(report.checks.map((c) => [c.name, c.ok, c.ok ? "" : c.detail])).toEqual([
      ["every §7 type loads exactly", true, ""],
      ["two tables load at once", true, ""],
      ["a table over its history budget continues in a child execution", true, ""],
      ["a failed load runs again at once", true, ""],
    ]);
    expect(smoke.code, smoke.stderr).toBe(0);
    expect(report.checks[2]?.detail).toMatch(/^[1-9]\d* child execution/);
    // The first load really failed in Redshift (its COPY could not read the files), and the next ran at once.
    expect(report.checks[3]?.detail).toMatch(/: failed \(Redshift statement .* FAILED/);
    // Run again: it starts over from its own clean slate.
    const again = await runCli(fx.configDir, ["--json", "--local", "smoke", "-p", "smoke"]);
    expect((JSON.parse(again.stdout) as SmokeReport).passed, again.stderr).toBe(true);
  });

  it("refuses a pipeline whose tables are not throwaway smoke tables, before touching anything", async () => {
    await writeFile(
      path.join(fx.configDir, "pipelines", "settlement.yml"),
      `pipeline: { name: settlement, source: test_mysql, target: test_redshift, staging: test_staging, processing: { max_parallel_tables: 1 }, s3: { isolation_prefix: settlement/ } }
tables:
  ${DB}.settle_orders: { cdc_strategy: hybrid, cdc_timestamp_column: updated_at, cdc_id_column: id, target_name: settle_orders }
`,
    );
    await fx.warehouse.redshift.query("CREATE TABLE public.settle_orders (id BIGINT)");
    const refused = await runCli(fx.configDir, ["--local", "smoke", "-p", "settlement"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("target_name must start with mrsync_smoke_");
    expect(refused.stderr).toContain("processing.max_parallel_tables must be at least 2");
    expect(refused.stderr).toContain("needs a table <mrsync_smoke…>.type_coverage");
    // Nothing was dropped.
    expect((await fx.warehouse.redshift.query("SELECT count(*) FROM public.settle_orders")).rows[0]?.map(Number)).toEqual([0]);
  });
});
