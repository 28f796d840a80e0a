/** lambdas/domain/run-plan.ts: Plan's input rules (tables, full refresh, budgets) for a pipeline. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadPipeline } from "#config/loader.ts";
import { InvalidInputError, planRun } from "#domain/run-plan.ts";

const pipeline = await loadPipeline(path.join(import.meta.dirname, "..", "..", "..", "..", "config"), "demo", {});
const plan = (input: Record<string, unknown>) =>
  planRun({ input: { pipeline: "demo", ...input }, pipeline, executionName: "exec-1", startedAt: "2025-09-12T14:30:22.135Z" });

describe("Plan", () => {
  it("defaults to every table, full mode, the pipeline's completion bucket and concurrency", () => {
    const { run, tables } = plan({});
    expect(tables.map((t) => t.table)).toEqual(["mrsync_demo.settle_orders", "mrsync_demo.type_coverage", "mrsync_demo.merchants"]);
    expect(run).toMatchObject({ executionId: "exec-1", mode: "full", limit: null, completionBucket: "mrsync-local-completion", maxParallelTables: 3 });
    expect(plan({ completion_bucket: "other-bucket", tables: ["mrsync_demo.merchants"] }).run.completionBucket).toBe("other-bucket");
  });

  it("refuses unknown tables naming the ones that exist, and a limit on redshift_only", () => {
    expect(() => plan({ tables: ["mrsync_demo.nope"] })).toThrow(InvalidInputError);
    expect(() => plan({ tables: ["mrsync_demo.nope"] })).toThrow(/no table mrsync_demo\.nope .*its tables: mrsync_demo\.settle_orders/);
    expect(() => plan({ mode: "redshift_only", limit: 10 })).toThrow(/drop limit/);
    expect(() => plan({ mode: "reconcile", limit: 10 })).toThrow(/reconcile compares whole tables: drop limit/);
  });

  it("refuses a completion_bucket the stack grants no writes to (its markers would be AccessDenied after the loads)", () => {
    const planWith = (bucket: string) =>
      planRun({
        input: { pipeline: "demo", completion_bucket: bucket },
        pipeline,
        executionName: "exec-1",
        startedAt: "2025-09-12T14:30:22.135Z",
        writableCompletionBuckets: ["mrsync-local-completion", "other-bucket"],
      });
    expect(planWith("other-bucket").run.completionBucket).toBe("other-bucket");
    expect(() => planWith("someone-elses-bucket")).toThrow(
      /completion_bucket someone-elses-bucket is not a bucket the stack may write markers to: .*\(mrsync-local-completion, other-bucket\)/,
    );
  });
});
