/**
 * Pure conversions of MySQL's exact text forms into Parquet's physical values — no JS Date, no float for DECIMAL
 * or BIGINT. They read the bytes MySQL sent (the extractor streams with mysql2's typeCast off, so no value is
 * decoded into a JS string only to be encoded again); `asciiBytes` adapts other inputs.
 */

const MICROS_PER_SECOND = 1_000_000n;
const MINUS = 45;
const POINT = 46;
const ZERO = 48;

/** A value's text as bytes: MySQL's raw bytes as they are, anything else through its text form. */
export function asciiBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (typeof value === "number" || typeof value === "bigint") return Buffer.from(value.toString(), "latin1");
  throw new TypeError(`expected MySQL text, got ${typeof value}`);
}

/** Bytes [start, end) of a value as a one-byte-per-character string (MySQL's numeric text is ASCII). */
export const latin1 = (bytes: Uint8Array, start = 0, end = bytes.length): string =>
  (bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString("latin1", start, end);

/** Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

const int2 = (b: Uint8Array, at: number) => ((b[at] ?? ZERO) - ZERO) * 10 + ((b[at + 1] ?? ZERO) - ZERO);
const int4 = (b: Uint8Array, at: number) => int2(b, at) * 100 + int2(b, at + 2);

/** "YYYY-MM-DD…" at `start` → days since the epoch, or undefined for a zero date (year, month or day 0). */
export function parseDate(text: Uint8Array, start = 0): number | undefined {
  const year = int4(text, start);
  const month = int2(text, start + 5);
  const day = int2(text, start + 8);
  if (month === 0 || day === 0 || year === 0) return undefined;
  return daysFromCivil(year, month, day);
}

/** A timestamp split in whole seconds and µs, so the common case needs no BigInt. */
export type TimestampParts = { seconds: number; micros: number };

/** "YYYY-MM-DD HH:MM:SS[.ffffff]" in [start, end) → seconds and µs since the epoch into `out`; false for a zero date. */
export function parseTimestamp(text: Uint8Array, out: TimestampParts, start = 0, end = text.length): boolean {
  const days = parseDate(text, start);
  if (days === undefined) return false;
  out.seconds = days * 86_400 + int2(text, start + 11) * 3600 + int2(text, start + 14) * 60 + int2(text, start + 17);
  // MySQL prints exactly fsp fraction digits after the point; scale them to six.
  let micros = 0;
  let scale = 100_000;
  for (let i = start + 20; i < end && i < start + 26; i++) {
    micros += ((text[i] ?? ZERO) - ZERO) * scale;
    scale /= 10;
  }
  out.micros = micros;
  return true;
}

/** µs since the epoch, exactly, or undefined for a zero date. */
export function parseTimestampMicros(text: string): bigint | undefined {
  const parts = { seconds: 0, micros: 0 };
  return parseTimestamp(asciiBytes(text), parts) ? BigInt(parts.seconds) * MICROS_PER_SECOND + BigInt(parts.micros) : undefined;
}

/** |seconds| below this keeps seconds × 10⁶ + µs under 2^53 (years 1685–2255): exact as a double. */
export const SAFE_TIMESTAMP_SECONDS = 9_007_199_254;

/**
 * Decimal (or integer) text → its unscaled integer at `scale`, as a number when that is exact (at most 15
 * digits), else undefined (the caller takes the BigInt path).
 */
export function unscaledDecimalNumber(text: Uint8Array, scale: number, start = 0, end = text.length): number | undefined {
  const negative = text[start] === MINUS;
  let value = 0;
  let digits = 0;
  let fraction = -1;
  for (let i = negative ? start + 1 : start; i < end; i++) {
    const code = text[i] ?? ZERO;
    if (code === POINT) {
      fraction = 0;
      continue;
    }
    value = value * 10 + (code - ZERO);
    digits++;
    if (fraction >= 0) fraction++;
  }
  const fractionDigits = Math.max(fraction, 0);
  if (fractionDigits > scale || digits + scale - fractionDigits > 15) return undefined;
  const unscaled = value * 10 ** (scale - fractionDigits);
  return negative ? -unscaled : unscaled;
}

/** The unscaled integer of a DECIMAL's text at the column's scale ("-12.3400" at scale 4 → -123400). */
export function unscaledDecimal(bytes: Uint8Array, scale: number, start = 0, end = bytes.length): bigint {
  const text = latin1(bytes, start, end);
  const point = text.indexOf(".");
  if (point < 0) return BigInt(text) * 10n ** BigInt(scale);
  const fraction = text.length - point - 1;
  const digits = text.slice(0, point) + text.slice(point + 1);
  if (fraction <= scale) return BigInt(digits) * 10n ** BigInt(scale - fraction);
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

/**
 * writeBigEndian for a safe integer (|v| < 2^53), without BigInt: the common DECIMAL (up to 15 digits) is written
 * with two 32-bit halves and a sign fill. A BigInt per value and eight BigInt shifts cost ~7 % of an extraction
 * (docs/benchmarks.md, bench:extract profile).
 */
export function writeBigEndianNumber(target: Buffer, offset: number, length: number, v: number): void {
  const high = Math.floor(v / 4_294_967_296);
  const low = v - high * 4_294_967_296;
  let i = offset + length - 1;
  for (let k = 0; k < 4 && i >= offset; k++, i--) target[i] = (low >>> (8 * k)) & 0xff;
  for (let k = 0; i >= offset; k++, i--) target[i] = k < 4 ? (high >> (8 * k)) & 0xff : high < 0 ? 0xff : 0;
}

/** A BIT(n) value as MySQL sends it (big-endian bytes) → its unsigned integer. */
export function bitValue(bytes: Uint8Array, start = 0, end = bytes.length): bigint {
  let v = 0n;
  for (let i = start; i < end; i++) v = (v << 8n) | BigInt(bytes[i] ?? 0);
  return v;
}

/**
 * A FLOAT or DOUBLE's text in [start, end) → its number, exactly as `Number(text)`. Up to 15 significant digits and
 * no exponent, the digits' integer and a power of ten are both exact doubles, so one division rounds correctly
 * (Clinger's fast path) without making a string; anything else goes through the string.
 */
export function parseDouble(text: Uint8Array, start = 0, end = text.length): number {
  const negative = text[start] === MINUS;
  let value = 0;
  let digits = 0;
  let fraction = -1;
  for (let i = negative ? start + 1 : start; i < end; i++) {
    const code = text[i] ?? 0;
    if (code === POINT && fraction < 0) {
      fraction = 0;
      continue;
    }
    const digit = code - ZERO;
    // An exponent, or a character no fast path covers: the string decides.
    if (digit < 0 || digit > 9 || ++digits > 15) return Number(latin1(text, start, end));
    value = value * 10 + digit;
    if (fraction >= 0) fraction++;
  }
  if (digits === 0) return Number(latin1(text, start, end));
  const result = fraction > 0 ? value / (POWERS_OF_TEN[fraction] ?? 1) : value;
  return negative ? -result : result;
}

/** 10⁰ … 10¹⁵, each by exact multiplications: every one an exact double. */
const POWERS_OF_TEN = [1];
for (let i = 1; i <= 15; i++) POWERS_OF_TEN.push((POWERS_OF_TEN[i - 1] ?? 1) * 10);
