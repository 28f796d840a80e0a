import { describe, expect, it } from "vitest";
import { compilePlaceholders } from "#domain/cdc/custom-sql.ts";
import { strategyFor } from "#domain/cdc/index.ts";
import { compareTimestamps, rewind, toIsoTimestamp } from "#domain/cdc/timestamps.ts";
import { dataKey, manifestKey, markerPrefix, markerSearchPrefix, tableDataFile, watermarkKey } from "#domain/s3-layout.ts";
import type { TableSchema } from "#domain/table-schema.ts";
import { beginRun, commitChunk, LeaseHeldError, LeaseLostError, markLoaded, newWatermark, PROCESSED_FILES_KEPT } from "#domain/watermark.ts";
import { daysFromCivil, decimalByteLength, parseTimestampMicros, unscaledDecimal, unscaledDecimalNumber } from "#parquet/values.ts";

const schema: TableSchema = {
  table: "shop.orders",
  primaryKey: ["id"],
  cursorKey: ["id"],
  columns: [
    {
      source: "id",
      name: "id",
      sourceType: "bigint(20) unsigned",
      value: { kind: "decimal", precision: 20, scale: 0 },
      redshiftType: "DECIMAL(20,0)",
      nullable: false,
    },
    { source: "up`dated", name: "up_dated", sourceType: "datetime(6)", value: { kind: "timestamp" }, redshiftType: "TIMESTAMP", nullable: false },
    { source: "price", name: "price", sourceType: "float", value: { kind: "float" }, redshiftType: "REAL", nullable: true },
  ],
};
const table = {
  key: "shop.orders",
  sourceSchema: "shop",
  sourceTable: "orders",
  cdc_timestamp_column: "up`dated",
  cdc_id_column: "id",
  custom_sql: undefined,
  settle_seconds: undefined,
};

describe("CDC strategies build keyset queries", () => {
  it("hybrid: (timestamp, id) keyset under a (timestamp, id) ceiling, ids bound as integers, names quoted", () => {
    const strategy = strategyFor({ ...table, cdc_strategy: "hybrid" }, schema);
    const query = strategy.chunkQuery(
      { timestamp: "2025-01-01 00:00:00.000001", key: ["18446744073709551615"] },
      { timestamp: "2025-02-01 00:00:00.000000", key: ["42"] },
      1000,
    );
    expect(query.sql).toBe(
      "SELECT `id`, `up``dated`, CAST(`price` AS DOUBLE) FROM `shop`.`orders` WHERE `up``dated` >= ? AND (`up``dated` > ? OR (`up``dated` = ? AND `id` > ?)) AND `up``dated` <= ? AND (`up``dated` < ? OR (`up``dated` = ? AND `id` <= ?)) ORDER BY `up``dated`, `id` LIMIT ?",
    );
    const from = "2025-01-01 00:00:00.000001";
    const to = "2025-02-01 00:00:00.000000";
    expect(query.params).toEqual([from, from, from, 18446744073709551615n, to, to, to, 42n, 1000]);
    expect(strategy.reached({ timestamp: "2025-02-01 00:00:00", key: ["42"] }, { timestamp: "2025-02-01 00:00:00.000000", key: ["42"] })).toBe(true);
    expect(strategy.reached({ timestamp: "2025-02-01 00:00:00", key: ["41"] }, { timestamp: "2025-02-01 00:00:00.000000", key: ["42"] })).toBe(false);
    // After a lookback rewind the cursor is a timestamp alone: from it, inclusive (negative ids included).
    expect(strategy.chunkQuery({ timestamp: from, key: null }, { timestamp: to, key: ["42"] }, 10).sql).toContain(
      "WHERE `up``dated` >= ? AND `up``dated` <= ?",
    );
  });

  it("id_only on a first run has no lower bound; a non-integer cursor is refused", () => {
    const strategy = strategyFor({ ...table, cdc_strategy: "id_only" }, schema);
    expect(strategy.chunkQuery({ timestamp: null, key: null }, { timestamp: null, key: ["9007199254740993"] }, 10).sql).toContain(
      "WHERE `id` <= ? ORDER BY `id` LIMIT ?",
    );
    expect(() => strategy.chunkQuery({ timestamp: null, key: ["1 OR 1=1"] }, { timestamp: null, key: ["5"] }, 10)).toThrow(
      'cursor value "1 OR 1=1" of id is not an integer',
    );
  });

  it("custom_sql: placeholders become bound parameters; strings and :: casts are left alone", () => {
    const compiled = compilePlaceholders("SELECT a::text, ':last_id' FROM t WHERE id > :last_id AND ts <= :ceiling_timestamp LIMIT :batch_size");
    expect(compiled.sql).toBe("SELECT a::text, ':last_id' FROM t WHERE id > ? AND ts <= ? LIMIT ?");
    expect(compiled.order).toEqual(["last_id", "ceiling_timestamp", "batch_size"]);
  });
});

describe("timestamps", () => {
  it("compare across fraction widths, convert to ISO, rewind exactly", () => {
    expect(compareTimestamps("2025-01-01 00:00:00.5", "2025-01-01 00:00:00.500000")).toBe(0);
    expect(toIsoTimestamp("2025-11-27 15:30:00.123456")).toBe("2025-11-27T15:30:00.123456Z");
    expect(rewind("2025-01-01 00:00:30.000007", 60)).toBe("2024-12-31 23:59:30.000007");
  });
});

describe("watermark transitions", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const begin = (runId: string, at = now) => ({
    runId,
    strategy: "hybrid" as const,
    ceiling: { timestamp: "2026-01-01 00:00:00", key: ["9"] },
    now: at,
    leaseSeconds: 60,
    lookbackSeconds: 0,
    restart: false,
    cursorColumns: ["id"],
  });

  it("a second run is refused while the lease holds, and takes over (resuming the cursor) once it expired", () => {
    const first = beginRun(newWatermark("p", "s.t", "hybrid", now), begin("a"));
    expect(beginRun(first, begin("a"))).toBe(first);
    expect(() => beginRun(first, begin("b"))).toThrow(LeaseHeldError);
    const committed = commitChunk(first, {
      runId: "a",
      cursor: { timestamp: "2025-06-01 00:00:00", key: ["5"] },
      rows: 5,
      file: "k1",
      zeroDates: {},
      done: false,
      now,
      leaseSeconds: 60,
    });
    const later = new Date(now.getTime() + 61_000);
    const takeover = beginRun(committed, begin("b", later));
    expect(takeover.mysql_state.run_id).toBe("b");
    expect(takeover.last_mysql_data_timestamp).toBe("2025-06-01T00:00:00.000000Z");
    expect(takeover.s3_state.backup_s3_files).toEqual(["k1"]);
    expect(() =>
      commitChunk(takeover, {
        runId: "a",
        cursor: { timestamp: null, key: null },
        rows: 1,
        file: "k2",
        zeroDates: {},
        done: false,
        now: later,
        leaseSeconds: 60,
      }),
    ).toThrow(LeaseLostError);
  });

  it("keeps a bounded tail of processed files", () => {
    const files = Array.from({ length: PROCESSED_FILES_KEPT + 5 }, (_, i) => `f${i}`);
    const loaded = markLoaded(
      { ...newWatermark("p", "s.t", "id_only", now), s3_state: { backup_s3_files: files, processed_s3_files: [], pending_validation: [] } },
      files,
      10,
      "load-1",
      now,
    );
    expect(loaded.s3_state.backup_s3_files).toEqual([]);
    expect(loaded.s3_state.processed_s3_files).toHaveLength(PROCESSED_FILES_KEPT);
    expect(loaded.s3_state.processed_s3_files.at(-1)).toBe(files.at(-1));
  });
});

describe("value conversions", () => {
  it("days_from_civil agrees with Date.UTC from year 1000 to 9999", () => {
    for (let year = 1000; year <= 9999; year += 37) {
      for (const [month, day] of [
        [1, 1],
        [2, 28],
        [2, 29],
        [12, 31],
      ] as const) {
        const expected = Date.UTC(year, month - 1, day) / 86_400_000;
        if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) continue;
        expect(daysFromCivil(year, month, day), `${year}-${month}-${day}`).toBe(expected);
      }
    }
  });

  it("decimals stay exact: numbers only when exact, BigInt otherwise", () => {
    const text = (s: string) => Buffer.from(s);
    expect(unscaledDecimalNumber(text("-12.34"), 4)).toBe(-123_400);
    expect(unscaledDecimalNumber(text("0.01"), 2)).toBe(1);
    expect(unscaledDecimalNumber(text("1234567890123.45"), 2)).toBe(123_456_789_012_345);
    expect(unscaledDecimalNumber(text("12345678901234.56"), 2)).toBeUndefined();
    expect(unscaledDecimal(text("-99999999999999999999999999.9999999999"), 10)).toBe(-999999999999999999999999999999999999n);
    expect([decimalByteLength(9), decimalByteLength(18), decimalByteLength(20), decimalByteLength(38)]).toEqual([4, 8, 9, 16]);
    expect(parseTimestampMicros("1969-12-31 23:59:59.999999")).toBe(-1n);
    expect(parseTimestampMicros("0000-00-00 00:00:00")).toBeUndefined();
  });
});

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
