/**
 * Column buffers: one per target column, filled row by row and encoded as PLAIN values (non-null values only) plus
 * one definition level per row. Memory is one row group's worth, reused. Values come as bytes in place — a range of
 * the packet MySQL sent (`pushBytes`), so no object is made per value — or as JS values (`push`: mysql2's Buffers,
 * text or numbers from other readers).
 */
import type { TableColumn, ValueKind } from "#domain/table-schema.ts";
import {
  asciiBytes,
  bitValue,
  decimalByteLength,
  latin1,
  parseDate,
  parseDouble,
  parseTimestamp,
  SAFE_TIMESTAMP_SECONDS,
  unscaledDecimal,
  unscaledDecimalNumber,
  writeBigEndian,
  writeBigEndianNumber,
  type TimestampParts,
} from "./values.ts";
import type { EncodedColumn } from "./pages.ts";

/** A value that cannot land exactly in its Redshift column: the caller adds the row's key. */
export class ValueRejectedError extends Error {
  override readonly name = "ValueRejectedError";
  readonly column: string;
  constructor(column: string, message: string) {
    super(message);
    this.column = column;
  }
}

export type ZeroDatePolicy = "null" | "fail";

/** A row's values as bytes of one buffer: value i is bytes[starts[i], ends[i]), NULL where starts[i] < 0. */
export type RowBytes = { readonly bytes: Uint8Array; readonly starts: Int32Array; readonly ends: Int32Array };

/** Bytes [start, end) as text, for messages. */
const textOf = (bytes: Uint8Array, start: number, end: number): string => Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString();

abstract class ColumnBuffer {
  readonly column: TableColumn;
  protected defined: Uint8Array;
  rows = 0;
  nulls = 0;
  /** Zero dates turned into NULL since the buffer was created (not reset per row group). */
  zeroDates = 0;

  constructor(column: TableColumn, capacity: number) {
    this.column = column;
    this.defined = new Uint8Array(capacity);
  }

  /** A JS value: null, bytes (mysql2's Buffer), or text or a number (through its text). */
  push(value: unknown): void {
    if (value === null || value === undefined) this.pushNull();
    else if (value instanceof Uint8Array) this.pushBytes(value, 0, value.length);
    else this.pushOther(value);
  }

  /** A non-null value: bytes [start, end) of `bytes` (MySQL's text, or the raw bytes of BIT and binary types). */
  pushBytes(bytes: Uint8Array, start: number, end: number): void {
    if (this.storeBytes(bytes, start, end)) this.defined[this.rows++] = 1;
    else this.pushNull();
  }

  pushNull(): void {
    this.defined[this.rows++] = 0;
    this.nulls++;
  }

  /** Text or a number: stored through its text. */
  protected pushOther(value: unknown): void {
    const bytes = asciiBytes(value);
    this.pushBytes(bytes, 0, bytes.length);
  }

  /** Stores a non-null value's bytes; false turns it into NULL (zero dates). */
  protected abstract storeBytes(bytes: Uint8Array, start: number, end: number): boolean;
  /** Bytes of the PLAIN values held now: drives the row-group byte budget. */
  abstract valueBytes(): number;
  protected abstract values(): Buffer;
  protected abstract resetValues(): void;

  encode(): EncodedColumn {
    return { values: this.values(), definitionLevels: this.defined.subarray(0, this.rows), rows: this.rows, nulls: this.nulls };
  }

  reset(): void {
    this.rows = 0;
    this.nulls = 0;
    this.resetValues();
  }

  protected reject(message: string): never {
    throw new ValueRejectedError(this.column.name, `column ${this.column.source} (${this.column.sourceType}): ${message}`);
  }
}

// Parquet is little-endian; typed arrays use the platform's order (little-endian on x86-64 and arm64 Lambdas).
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("the Parquet writer needs a little-endian platform");

/** Typed views over one column's values: writes go straight into memory, without Buffer's checked writers. */
export type FixedViews = { bytes: Buffer; i32: Int32Array; i64: BigInt64Array; f32: Float32Array; f64: Float64Array };

const TWO_32 = 4_294_967_296;

/** Stores a safe integer at 64-bit slot `index` without BigInt (two's complement halves). */
export function setInt64(views: FixedViews, index: number, value: number): void {
  const high = Math.floor(value / TWO_32);
  views.i32[2 * index] = (value - high * TWO_32) | 0;
  views.i32[2 * index + 1] = high | 0;
}

/** Writes one value's bytes [start, end) into slot `index`; false: store NULL instead. */
type WriteFixed = (views: FixedViews, index: number, bytes: Uint8Array, start: number, end: number) => boolean;

/** Fixed-width values in one preallocated buffer of capacity × width bytes. */
class FixedBuffer extends ColumnBuffer {
  private readonly views: FixedViews;
  private count = 0;
  private readonly width: number;
  private readonly write: WriteFixed;

  constructor(column: TableColumn, capacity: number, width: number, write: WriteFixed) {
    super(column, capacity);
    this.width = width;
    this.write = write;
    // Whole 8-byte words, so every view fits the same memory.
    const memory = new ArrayBuffer(Math.ceil((capacity * width) / 8) * 8);
    this.views = {
      bytes: Buffer.from(memory),
      i32: new Int32Array(memory),
      i64: new BigInt64Array(memory),
      f32: new Float32Array(memory),
      f64: new Float64Array(memory),
    };
  }

  protected storeBytes(bytes: Uint8Array, start: number, end: number): boolean {
    if (!this.write(this.views, this.count, bytes, start, end)) return false;
    this.count++;
    return true;
  }

  valueBytes(): number {
    return this.count * this.width;
  }

  protected values(): Buffer {
    return this.views.bytes.subarray(0, this.count * this.width);
  }

  protected resetValues(): void {
    this.count = 0;
  }
}

/** PLAIN BOOLEAN: bit-packed, least significant bit first. */
class BooleanBuffer extends ColumnBuffer {
  private readonly bits: Buffer;
  private count = 0;
  /** BIT(1) comes as a byte; TINYINT(1) (type_overrides: BOOLEAN) as the text "0" or "1". */
  private readonly fromBit: boolean;

  constructor(column: TableColumn, capacity: number, fromBit: boolean) {
    super(column, capacity);
    this.bits = Buffer.alloc(Math.ceil(capacity / 8));
    this.fromBit = fromBit;
  }

  protected override pushOther(value: unknown): void {
    if (typeof value !== "number") super.pushOther(value);
    else {
      this.store(value !== 0);
      this.defined[this.rows++] = 1;
    }
  }

  protected storeBytes(bytes: Uint8Array, start: number, end: number): boolean {
    if (!this.fromBit) this.store(unscaledDecimalNumber(bytes, 0, start, end) !== 0);
    else {
      let truthy = false;
      for (let i = start; i < end; i++) truthy ||= bytes[i] !== 0;
      this.store(truthy);
    }
    return true;
  }

  private store(truthy: boolean): void {
    const byte = this.count >> 3;
    if (this.count % 8 === 0) this.bits[byte] = 0;
    if (truthy) this.bits[byte] = (this.bits[byte] ?? 0) | (1 << (this.count & 7));
    this.count++;
  }

  valueBytes(): number {
    return Math.ceil(this.count / 8);
  }

  protected values(): Buffer {
    return this.bits.subarray(0, Math.ceil(this.count / 8));
  }

  protected resetValues(): void {
    this.count = 0;
  }
}

/** PLAIN BYTE_ARRAY: 4-byte little-endian length, then the bytes; strings are written as UTF-8 in place. */
class ByteArrayBuffer extends ColumnBuffer {
  private data = Buffer.allocUnsafe(1 << 16);
  private length = 0;
  private readonly maxBytes: number;

  constructor(column: TableColumn, capacity: number, maxBytes: number) {
    super(column, capacity);
    this.maxBytes = maxBytes;
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.data.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.data.length * 2, this.length + extra));
    this.data.copy(next, 0, 0, this.length);
    this.data = next;
  }

  protected override pushOther(value: unknown): void {
    if (typeof value !== "string") this.reject(`expected text or bytes, got ${typeof value}`);
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    this.ensure(4 + value.length * 3);
    const bytes = this.data.write(value, this.length + 4, "utf8");
    if (bytes > this.maxBytes) this.reject(`a value of ${bytes} bytes exceeds the Redshift column's ${this.maxBytes} bytes`);
    this.data.writeUInt32LE(bytes, this.length);
    this.length += 4 + bytes;
    this.defined[this.rows++] = 1;
  }

  protected storeBytes(bytes: Uint8Array, start: number, end: number): boolean {
    const size = end - start;
    if (size > this.maxBytes) this.reject(`a value of ${size} bytes exceeds the Redshift column's ${this.maxBytes} bytes`);
    this.ensure(4 + size);
    const data = this.data;
    let at = this.length;
    data.writeUInt32LE(size, at);
    at += 4;
    // Most values are short: a loop costs less than a copy's call (and makes no view of the source).
    if (size <= 32) for (let i = start; i < end; i++) data[at++] = bytes[i] ?? 0;
    else data.set(bytes.subarray(start, end), at);
    this.length += 4 + size;
    return true;
  }

  valueBytes(): number {
    return this.length;
  }

  protected values(): Buffer {
    return this.data.subarray(0, this.length);
  }

  protected resetValues(): void {
    this.length = 0;
    // A row group of huge values must not pin its buffer for the rest of the file.
    if (this.data.length > 64 << 20) this.data = Buffer.allocUnsafe(1 << 16);
  }
}

/** An integer (MySQL's text, or BIT's big-endian bytes) into 64-bit slot `index`, without BigInt when exact. */
function writeInteger(views: FixedViews, index: number, bytes: Uint8Array, start: number, end: number, bits: boolean): true {
  if (bits) {
    views.i64[index] = bitValue(bytes, start, end);
    return true;
  }
  const exact = unscaledDecimalNumber(bytes, 0, start, end);
  if (exact === undefined) views.i64[index] = BigInt(latin1(bytes, start, end));
  else setInt64(views, index, exact);
  return true;
}

/**
 * The Parquet storage of a DECIMAL: FIXED_LEN_BYTE_ARRAY of the fewest bytes the precision needs, at every precision —
 * the form AWS's own Parquet exports (RDS snapshot export) load into Redshift NUMERIC; INT32/INT64-backed decimals are
 * not in Redshift's documented COPY mappings.
 */
export function decimalStorage(precision: number): { physical: "FIXED_LEN_BYTE_ARRAY"; width: number } {
  return { physical: "FIXED_LEN_BYTE_ARRAY", width: decimalByteLength(precision) };
}

export type AnyColumnBuffer = ColumnBuffer;

/** The buffer for one column; `capacity` is the most rows one row group holds. */
export function createColumnBuffer(column: TableColumn, capacity: number, zeroDates: ZeroDatePolicy): ColumnBuffer {
  const value: ValueKind = column.value;
  const zero = (buffer: { zeroDates: number }, bytes: Uint8Array, start: number, end: number): false => {
    if (zeroDates === "fail") {
      throw new ValueRejectedError(column.name, `column ${column.source}: zero date ${textOf(bytes, start, end)} (zero_dates: fail)`);
    }
    buffer.zeroDates++;
    return false;
  };
  // BIT values come as big-endian bytes; every other value as MySQL's text.
  const bits = column.sourceType.startsWith("bit");
  switch (value.kind) {
    case "int32":
      return new FixedBuffer(column, capacity, 4, (views, index, bytes, start, end) => {
        const integer = unscaledDecimalNumber(bytes, 0, start, end);
        // Never a silent 0: an INT32 column's text is always a short integer, so anything else is refused.
        if (integer === undefined)
          throw new ValueRejectedError(column.name, `column ${column.source} (${column.sourceType}): ${textOf(bytes, start, end)} is not a 32-bit integer`);
        views.i32[index] = integer;
        return true;
      });
    case "int64":
      return new FixedBuffer(column, capacity, 8, (views, index, bytes, start, end) => writeInteger(views, index, bytes, start, end, bits));
    case "float":
      return new FixedBuffer(column, capacity, 4, (views, index, bytes, start, end) => ((views.f32[index] = parseDouble(bytes, start, end)), true));
    case "double":
      return new FixedBuffer(column, capacity, 8, (views, index, bytes, start, end) => ((views.f64[index] = parseDouble(bytes, start, end)), true));
    case "boolean":
      return new BooleanBuffer(column, capacity, bits);
    case "date": {
      const buffer: FixedBuffer = new FixedBuffer(column, capacity, 4, (views, index, bytes, start, end) => {
        const days = parseDate(bytes, start);
        if (days === undefined) return zero(buffer, bytes, start, end);
        views.i32[index] = days;
        return true;
      });
      return buffer;
    }
    case "timestamp": {
      const parts: TimestampParts = { seconds: 0, micros: 0 };
      const buffer: FixedBuffer = new FixedBuffer(column, capacity, 8, (views, index, bytes, start, end) => {
        if (!parseTimestamp(bytes, parts, start, end)) return zero(buffer, bytes, start, end);
        if (Math.abs(parts.seconds) < SAFE_TIMESTAMP_SECONDS) setInt64(views, index, parts.seconds * 1_000_000 + parts.micros);
        else views.i64[index] = BigInt(parts.seconds) * 1_000_000n + BigInt(parts.micros);
        return true;
      });
      return buffer;
    }
    case "decimal": {
      const { width } = decimalStorage(value.precision);
      const scale = value.scale;
      const unscaled = (bytes: Uint8Array, start: number, end: number): bigint =>
        bits ? bitValue(bytes, start, end) : unscaledDecimal(bytes, scale, start, end);
      return new FixedBuffer(column, capacity, width, (views, index, bytes, start, end) => {
        const exact = bits ? undefined : unscaledDecimalNumber(bytes, scale, start, end);
        if (exact === undefined) writeBigEndian(views.bytes, index * width, width, unscaled(bytes, start, end));
        else writeBigEndianNumber(views.bytes, index * width, width, exact);
        return true;
      });
    }
    case "string":
    case "binary":
      return new ByteArrayBuffer(column, capacity, value.maxBytes);
  }
}
