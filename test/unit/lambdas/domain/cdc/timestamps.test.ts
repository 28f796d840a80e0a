/** lambdas/domain/cdc/timestamps.ts: comparing, rewinding and rendering MySQL timestamps to the microsecond. */
import { describe, expect, it } from "vitest";
import { compareTimestamps, rewind, toIsoTimestamp } from "#domain/cdc/timestamps.ts";

describe("timestamps", () => {
  it("compare across fraction widths, convert to ISO, rewind exactly", () => {
    expect(compareTimestamps("2025-01-01 00:00:00.5", "2025-01-01 00:00:00.500000")).toBe(0);
    expect(toIsoTimestamp("2025-11-27 15:30:00.123456")).toBe("2025-11-27T15:30:00.123456Z");
    expect(rewind("2025-01-01 00:00:30.000007", 60)).toBe("2024-12-31 23:59:30.000007");
  });
});
