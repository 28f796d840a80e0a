/** lambdas/domain/s3-layout.ts against examples/airflow: the DAG waits on exactly the marker keys the pipeline writes. */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { markerPrefix } from "#domain/s3-layout.ts";

describe("the Airflow example", () => {
  it("waits on exactly the marker layout the pipeline writes", async () => {
    const { readFile } = await import("node:fs/promises");
    const dag = await readFile(path.join(import.meta.dirname, "..", "..", "..", "..", "examples", "airflow", "settlement_sync_dag.py"), "utf8");
    expect(dag).toContain('MARKER_PREFIX = f"completion_markers/{PIPELINE}/{TABLE}/{RUN_DAY}_"');
    expect(dag).toContain('bucket_key=f"{MARKER_PREFIX}*/completion_marker.txt"');
    expect(dag).toContain('f"{folder}/execution_metadata.json"');
    // The same path the writer produces, for the DAG's pipeline and table on a run day.
    const written = `${markerPrefix("us_dw_hybrid_v1_2", "settlement.settle_orders", "2025-09-12T14:30:22Z")}completion_marker.txt`;
    expect(written).toMatch(/^completion_markers\/us_dw_hybrid_v1_2\/settlement\.settle_orders\/20250912_[0-9]{6}\/completion_marker\.txt$/);
  });
});
