import { describe, expect, it } from "vitest";
import { isTimeZone, justBefore, shiftBy, wallClockIn } from "#domain/cdc/time-zone.ts";

describe("the source's time zone", () => {
  it("accepts IANA names and ±hh:mm offsets, and nothing else", () => {
    for (const zone of ["Asia/Shanghai", "America/New_York", "UTC", "+08:00", "-03:30", "+00:00"]) expect(isTimeZone(zone), zone).toBe(true);
    for (const zone of ["CST", "+8", "08:00", "+25:00", "Mars/Olympus", "", "SYSTEM"]) expect(isTimeZone(zone), zone).toBe(false);
  });

  it("reads a UTC instant as the wall clock of a zone, to the microsecond, daylight saving included", () => {
    expect(wallClockIn("+08:00", "2026-12-04 09:35:20.123456")).toBe("2026-12-04 17:35:20.123456");
    expect(wallClockIn("-03:30", "2026-01-01 01:00:00.000001")).toBe("2025-12-31 21:30:00.000001");
    expect(wallClockIn("Asia/Shanghai", "2026-12-04 20:00:00.5")).toBe("2026-12-05 04:00:00.500000");
    // New York: EST (−5) in January, EDT (−4) in July.
    expect(wallClockIn("America/New_York", "2026-01-15 12:00:00.000000")).toBe("2026-01-15 07:00:00.000000");
    expect(wallClockIn("America/New_York", "2026-07-15 12:00:00.000000")).toBe("2026-07-15 08:00:00.000000");
  });

  it("moves a time by the offset between two readings of one instant, and steps back one microsecond", () => {
    expect(shiftBy("2026-12-04 09:00:00", "2026-12-04 17:35:20.000000", "2026-12-04 09:35:20.000000")).toBe("2026-12-04 17:00:00.000000");
    expect(justBefore("2026-12-04 09:00:00")).toBe("2026-12-04 08:59:59.999999");
    expect(justBefore("2026-12-04 09:00:00.000010")).toBe("2026-12-04 09:00:00.000009");
  });
});
