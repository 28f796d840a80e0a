/** lambdas/parquet/values.ts: MySQL values to Parquet's physical values (dates, timestamps, decimals). */
import { describe, expect, it } from "vitest";
import { daysFromCivil, decimalByteLength, parseTimestampMicros, unscaledDecimal, unscaledDecimalNumber } from "#parquet/values.ts";

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
