/** lambdas/parquet/values.ts: MySQL values to Parquet's physical values (dates, timestamps, decimals). */
import { describe, expect, it } from "vitest";
import {
  daysFromCivil,
  decimalByteLength,
  parseDouble,
  parseTimestampMicros,
  unscaledDecimal,
  unscaledDecimalNumber,
  writeBigEndian,
  writeBigEndianNumber,
} from "#parquet/values.ts";

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

  it("writes a safe integer big-endian two's complement byte for byte as the BigInt path does, at every DECIMAL width", () => {
    const edges = [0, 1, -1, 255, 256, -256, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, -(2 ** 32), 2 ** 32 + 1, 999_999_999_999_999, -999_999_999_999_999];
    const random = Array.from({ length: 2_000 }, (_, i) => Math.round((Math.sin(i * 12.9898) * 43_758.5453 * 2 ** 32) % 1e15));
    for (const width of [4, 5, 6, 7, 8, 9, 12, 16]) {
      // A width holds 8·width − 1 bits and a sign: only values that fit it.
      const limit = 2 ** Math.min(52, 8 * width - 1);
      for (const value of [...edges, ...random].filter((v) => Math.abs(v) < limit)) {
        const bigint = Buffer.alloc(width + 2, 0xaa);
        const number = Buffer.alloc(width + 2, 0xaa);
        writeBigEndian(bigint, 1, width, BigInt(value));
        writeBigEndianNumber(number, 1, width, value);
        expect(number.toString("hex"), `${String(value)} in ${String(width)} bytes`).toBe(bigint.toString("hex"));
      }
    }
  });

  it("parses a FLOAT or DOUBLE's text to the very double Number() gives, in place, at every digit count", () => {
    const texts = ["0", "-0", "1", "-1", "0.1", "0.3", "123456789012345", "1234567890123456", "0.000000000000001234", "1e-7", "-1.5e+20", "1e308"];
    for (let i = 0; i < 3_000; i++) {
      const x = Math.sin(i * 12.9898) * 10 ** ((i % 40) - 20);
      texts.push(String(x), x.toPrecision((i % 17) + 1), x.toFixed(i % 12));
    }
    for (const text of texts) {
      // The value inside a longer buffer, as it lies in MySQL's packet.
      const bytes = Buffer.from(`xx${text}yy`, "latin1");
      expect(Object.is(parseDouble(bytes, 2, 2 + text.length), Number(text)), text).toBe(true);
    }
  });
});
