/**
 * Pure conversions of MySQL's exact text forms (mysql2 with dateStrings/bigNumberStrings) into Parquet's physical
 * values — no JS Date, no float for DECIMAL or BIGINT.
 */

const MICROS_PER_SECOND = 1_000_000n;

/** Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

const digit = (text: string, at: number) => text.charCodeAt(at) - 48;
const int2 = (text: string, at: number) => digit(text, at) * 10 + digit(text, at + 1);
const int4 = (text: string, at: number) => int2(text, at) * 100 + int2(text, at + 2);

/** "YYYY-MM-DD…" → days since the epoch, or undefined for a zero date (year, month or day 0). */
export function parseDate(text: string): number | undefined {
  const year = int4(text, 0);
  const month = int2(text, 5);
  const day = int2(text, 8);
  if (month === 0 || day === 0 || year === 0) return undefined;
  return daysFromCivil(year, month, day);
}

/** A timestamp split in whole seconds and µs, so the common case needs no BigInt. */
export type TimestampParts = { seconds: number; micros: number };

/** "YYYY-MM-DD HH:MM:SS[.ffffff]" → seconds and µs since the epoch into `out`; false for a zero date. */
export function parseTimestamp(text: string, out: TimestampParts): boolean {
  const days = parseDate(text);
  if (days === undefined) return false;
  out.seconds = days * 86_400 + int2(text, 11) * 3600 + int2(text, 14) * 60 + int2(text, 17);
  // MySQL prints exactly fsp fraction digits after the point; scale them to six.
  let micros = 0;
  let scale = 100_000;
  for (let i = 20; i < text.length && i < 26; i++) {
    micros += digit(text, i) * scale;
    scale /= 10;
  }
  out.micros = micros;
  return true;
}

/** µs since the epoch, exactly, or undefined for a zero date. */
export function parseTimestampMicros(text: string): bigint | undefined {
  const parts = { seconds: 0, micros: 0 };
  return parseTimestamp(text, parts) ? BigInt(parts.seconds) * MICROS_PER_SECOND + BigInt(parts.micros) : undefined;
}

/** |seconds| below this keeps seconds × 10⁶ + µs under 2^53 (years 1685–2255): exact as a double. */
export const SAFE_TIMESTAMP_SECONDS = 9_007_199_254;

/** Decimal text → its unscaled integer as a number when that is exact (≤ 15 digits), else undefined. */
export function unscaledDecimalNumber(text: string, scale: number): number | undefined {
  const negative = text.charCodeAt(0) === 45; // "-"
  let value = 0;
  let digits = 0;
  let fraction = -1;
  for (let i = negative ? 1 : 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46) {
      // "."
      fraction = 0;
      continue;
    }
    value = value * 10 + (code - 48);
    digits++;
    if (fraction >= 0) fraction++;
  }
  const fractionDigits = Math.max(fraction, 0);
  if (fractionDigits > scale || digits + scale - fractionDigits > 15) return undefined;
  const unscaled = value * 10 ** (scale - fractionDigits);
  return negative ? -unscaled : unscaled;
}

/** The unscaled integer of a DECIMAL's text at the column's scale ("-12.3400" at scale 4 → -123400). */
export function unscaledDecimal(text: string, scale: number): bigint {
  const point = text.indexOf(".");
  if (point < 0) return BigInt(text) * 10n ** BigInt(scale);
  const fraction = text.length - point - 1;
  const digits = text.slice(0, point) + text.slice(point + 1);
  if (fraction === scale) return BigInt(digits);
  if (fraction < scale) return BigInt(digits) * 10n ** BigInt(scale - fraction);
  throw new RangeError(`${text} has more than ${scale} fraction digits`);
}

/** Bytes of a FIXED_LEN_BYTE_ARRAY that holds any DECIMAL of this precision (two's complement). */
export function decimalByteLength(precision: number): number {
  let bytes = 1;
  while (2n ** BigInt(8 * bytes - 1) <= 10n ** BigInt(precision)) bytes++;
  return bytes;
}

/** Writes v big-endian two's complement into `length` bytes at `offset` (v must fit). */
export function writeBigEndian(target: Buffer, offset: number, length: number, v: bigint): void {
  let rest = BigInt.asUintN(length * 8, v);
  for (let i = offset + length - 1; i >= offset; i--) {
    target[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

/** A BIT(n) value as mysql2 returns it (big-endian bytes) → its unsigned integer. */
export function bitValue(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}
