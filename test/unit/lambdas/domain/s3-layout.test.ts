/** lambdas/domain/s3-layout.ts: the object keys docs/design.md §4 describes, and the patterns that find them again. */
import { describe, expect, it } from "vitest";
import { dataKey, manifestKey, markerPrefix, markerSearchPrefix, tableDataFile, watermarkKey } from "#domain/s3-layout.ts";

describe("S3 layout", () => {
  it("names data files per run and chunk under each partition strategy", () => {
    const parts = { isolationPrefix: "us_dw/", stagingPrefix: "incremental/", table: "settlement.orders", runStartedAt: "2025-11-27T15:04:05.123Z", chunk: 7 };
    expect(dataKey({ ...parts, partitionStrategy: "datetime" })).toBe(
      "us_dw/incremental/year=2025/month=11/day=27/hour=15/settlement_orders_20251127_150405_batch_0007.parquet",
    );
    expect(dataKey({ ...parts, partitionStrategy: "table" })).toBe(
      "us_dw/incremental/table=settlement_orders/year=2025/month=11/day=27/hour=15/settlement_orders_20251127_150405_batch_0007.parquet",
    );
    expect(dataKey({ ...parts, partitionStrategy: "hybrid" })).toBe(
      "us_dw/incremental/year=2025/month=11/table=settlement_orders/day=27/hour=15/settlement_orders_20251127_150405_batch_0007.parquet",
    );
    expect(watermarkKey("us_dw/", "p1", "settlement.orders")).toBe("us_dw/watermarks/v2/p1/settlement.orders.json");
    expect(manifestKey("us_dw/", "p1", "settlement.orders", "load_1")).toBe("us_dw/manifests/p1/settlement.orders/load_1.manifest");
    expect(markerPrefix("p1", "settlement.orders", parts.runStartedAt)).toBe("completion_markers/p1/settlement.orders/20251127_150405/");
    expect(markerSearchPrefix("p1", "settlement.orders", "20251127")).toBe("completion_markers/p1/settlement.orders/20251127_");
  });

  it("tells a table's data files from another table's whatever the partition strategy (s3clean deletes by it)", () => {
    const parts = { isolationPrefix: "us_dw/", stagingPrefix: "incremental/", runStartedAt: "2025-11-27T15:04:05.123Z", chunk: 12345 };
    const own = tableDataFile("settlement.orders");
    for (const partitionStrategy of ["datetime", "table", "hybrid"] as const) {
      expect(own.test(dataKey({ ...parts, partitionStrategy, table: "settlement.orders" })), partitionStrategy).toBe(true);
      // A table whose name ends like ours, and one that only differs where the dot was.
      expect(own.test(dataKey({ ...parts, partitionStrategy, table: "settlement.old_orders" })), partitionStrategy).toBe(false);
      expect(own.test(dataKey({ ...parts, partitionStrategy, table: "settlementxorders.x" })), partitionStrategy).toBe(false);
    }
    expect(own.test("us_dw/incremental/settlement_orders_20251127_150405_batch_0001.parquet.tmp")).toBe(false);
  });
});
