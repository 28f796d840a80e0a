/**
 * The Thrift compact protocol, write side only: just what Parquet's page headers and footer need
 * (structs, lists, bool, i8, i32, i64, binary). Fields are written in ascending id order; undefined fields are omitted.
 */

const TYPE = { bool: 1, i8: 3, i32: 5, i64: 6, binary: 8, list: 9, struct: 12 } as const;
const BOOL_TRUE = 1;
const BOOL_FALSE = 2;

export type ThriftValue =
  | { t: "bool"; v: boolean }
  | { t: "i8"; v: number }
  | { t: "i32"; v: number }
  | { t: "i64"; v: number | bigint }
  | { t: "binary"; v: string }
  | { t: "struct"; v: ThriftStruct }
  | { t: "list"; elem: "i32" | "binary" | "struct"; v: ThriftValue[] };
/** Field id → value. */
export type ThriftStruct = Record<number, ThriftValue | undefined>;

export const bool = (v: boolean): ThriftValue => ({ t: "bool", v });
export const i8 = (v: number): ThriftValue => ({ t: "i8", v });
export const i32 = (v: number): ThriftValue => ({ t: "i32", v });
export const i64 = (v: number | bigint): ThriftValue => ({ t: "i64", v });
export const str = (v: string): ThriftValue => ({ t: "binary", v });
export const struct = (v: ThriftStruct): ThriftValue => ({ t: "struct", v });
export const list = (elem: "i32" | "binary" | "struct", v: ThriftValue[]): ThriftValue => ({ t: "list", elem, v });

class ByteSink {
  private buffer = Buffer.allocUnsafe(256);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buffer[this.length++] = b;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buffer.set(b, this.length);
    this.length += b.length;
  }

  varint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  /** Small non-negative ints: the common case, without BigInt. */
  uvarint(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.byte((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.byte(v);
  }

  zigzag(value: number | bigint): void {
    const v = BigInt(value);
    this.varint((v << 1n) ^ (v >> 63n));
  }

  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function writeValue(sink: ByteSink, value: ThriftValue): void {
  switch (value.t) {
    case "bool":
      sink.byte(value.v ? BOOL_TRUE : BOOL_FALSE);
      return;
    case "i8":
      // The compact protocol writes a byte as itself, not as a varint.
      sink.byte(value.v & 0xff);
      return;
    case "i32":
    case "i64":
      sink.zigzag(value.v);
      return;
    case "binary": {
      const bytes = Buffer.from(value.v, "utf8");
      sink.uvarint(bytes.length);
      sink.bytes(bytes);
      return;
    }
    case "struct":
      writeStruct(sink, value.v);
      return;
    case "list": {
      const size = value.v.length;
      if (size < 15) sink.byte((size << 4) | TYPE[value.elem]);
      else {
        sink.byte(0xf0 | TYPE[value.elem]);
        sink.uvarint(size);
      }
      for (const item of value.v) writeValue(sink, item);
      return;
    }
  }
}

function writeStruct(sink: ByteSink, fields: ThriftStruct): void {
  let lastId = 0;
  const ids = Object.keys(fields)
    .map(Number)
    .sort((a, b) => a - b);
  for (const id of ids) {
    const value = fields[id];
    if (value === undefined) continue;
    const type = value.t === "bool" ? (value.v ? BOOL_TRUE : BOOL_FALSE) : TYPE[value.t];
    const delta = id - lastId;
    if (delta > 0 && delta <= 15) sink.byte((delta << 4) | type);
    else {
      sink.byte(type);
      sink.zigzag(id);
    }
    // A bool field's value travels in its header's type nibble.
    if (value.t !== "bool") writeValue(sink, value);
    lastId = id;
  }
  sink.byte(0);
}

/** Serialises one struct (a page header, the file metadata). */
export function encodeStruct(fields: ThriftStruct): Buffer {
  const sink = new ByteSink();
  writeStruct(sink, fields);
  return sink.result();
}
