/**
 * A plain Parquet writer for the table schema: v1 data pages, PLAIN values, RLE definition levels, every column
 * OPTIONAL, no key/value metadata, columns in target order (Redshift COPY maps Parquet columns by position).
 * It produces the file as a sequence of byte chunks — one per row group, then the footer — so a caller can stream
 * it to S3 while holding at most one row group in memory.
 *
 * Why not a library: see docs/parquet-writer.md (measured: parquet-wasm always embeds ARROW:schema key/value
 * metadata, hyparquet-writer writes only v2 pages, @dsnp/parquetjs is broken or wrong on DECIMAL).
 */
import { gzipSync, zstdCompressSync } from "node:zlib";
import { createRequire } from "node:module";
import type { TableColumn } from "#domain/table-schema.ts";
import { createColumnBuffer, decimalStorage, type AnyColumnBuffer, type EncodedColumn, type ZeroDatePolicy } from "./columns.ts";
import { encodeStruct, i8, i32, i64, list, str, struct, bool, type ThriftStruct, type ThriftValue } from "./thrift.ts";

export type Compression = "snappy" | "gzip" | "zstd" | "none";

const MAGIC = Buffer.from("PAR1", "ascii");
const CREATED_BY = "mysql-redshift-sync";

// parquet.thrift enums
const PhysicalType = { BOOLEAN: 0, INT32: 1, INT64: 2, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6, FIXED_LEN_BYTE_ARRAY: 7 } as const;
const ConvertedType = { UTF8: 0, DECIMAL: 5, DATE: 6, TIMESTAMP_MICROS: 10, INT_8: 15, INT_16: 16 } as const;
const Codec = { none: 0, snappy: 1, gzip: 2, zstd: 6 } as const;
const Encoding = { PLAIN: 0, RLE: 3 } as const;
const OPTIONAL = 1;
const DATA_PAGE = 0;

type ColumnLayout = { physical: keyof typeof PhysicalType; typeLength?: number; element: ThriftStruct };

/** The Parquet schema element of one column (docs/design.md §7's Parquet column). */
export function columnLayout(column: TableColumn): ColumnLayout {
  const base = (physical: keyof typeof PhysicalType, extra: ThriftStruct = {}, typeLength?: number): ColumnLayout => ({
    physical,
    ...(typeLength === undefined ? {} : { typeLength }),
    element: {
      1: i32(PhysicalType[physical]),
      2: typeLength === undefined ? undefined : i32(typeLength),
      3: i32(OPTIONAL),
      4: str(column.name),
      ...extra,
    },
  });
  const value = column.value;
  switch (value.kind) {
    case "int32": {
      // Redshift loads INT32 into SMALLINT only when annotated INT(16) or INT(8) (COPY's Parquet type mapping).
      if (column.redshiftType !== "SMALLINT") return base("INT32");
      const bits = /^tinyint\b(?!.*unsigned)/i.test(column.sourceType) ? 8 : 16;
      return base("INT32", { 6: i32(bits === 8 ? ConvertedType.INT_8 : ConvertedType.INT_16), 10: struct({ 10: struct({ 1: i8(bits), 2: bool(true) }) }) });
    }
    case "int64":
      return base("INT64");
    case "float":
      return base("FLOAT");
    case "double":
      return base("DOUBLE");
    case "boolean":
      return base("BOOLEAN");
    case "date":
      return base("INT32", { 6: i32(ConvertedType.DATE), 10: struct({ 6: struct({}) }) });
    case "timestamp":
      // MICROS, not adjusted to UTC: a wall-clock value for Redshift's TIMESTAMP (without time zone), which is what
      // MySQL holds (the extractor's session runs at +00:00). The legacy TIMESTAMP_MICROS converted type is kept for
      // readers that predate logical types, as DuckDB and Arrow write local timestamps.
      return base("INT64", { 6: i32(ConvertedType.TIMESTAMP_MICROS), 10: struct({ 8: struct({ 1: bool(false), 2: struct({ 2: struct({}) }) }) }) });
    case "decimal": {
      const { physical, width } = decimalStorage(value.precision);
      const annotation = {
        6: i32(ConvertedType.DECIMAL),
        7: i32(value.scale),
        8: i32(value.precision),
        10: struct({ 5: struct({ 1: i32(value.scale), 2: i32(value.precision) }) }),
      };
      return base(physical, annotation, width);
    }
    case "string":
      return base("BYTE_ARRAY", { 6: i32(ConvertedType.UTF8), 10: struct({ 1: struct({}) }) });
    case "binary":
      return base("BYTE_ARRAY");
  }
}

type Snappy = { compressSync(data: Buffer, options: { copyOutputData: boolean }): Buffer };
const loadNative = createRequire(import.meta.url);
let snappy: Snappy | undefined;
/**
 * The native snappy binding, loaded on first use: a bundle that never compresses (every step but ExtractChunk)
 * does not carry the native module, and a bundler must not try to inline it.
 */
const snappyCompress = (data: Buffer, options: { copyOutputData: boolean }) => (snappy ??= loadNative("snappy") as Snappy).compressSync(data, options);

function compress(codec: Compression, data: Buffer): Buffer {
  switch (codec) {
    case "snappy":
      // copyOutputData: a V8-owned result. The default external buffer is invisible to V8's memory accounting, so
      // garbage ones were collected late and peak RSS grew with the file (832 MB at 5M rows, vs 159 MB uncompressed).
      return snappyCompress(data, { copyOutputData: true });
    case "gzip":
      return gzipSync(data);
    case "zstd":
      return zstdCompressSync(data);
    case "none":
      return data;
  }
}

/** RLE/bit-packed hybrid definition levels (bit width 1), with the v1 page's 4-byte length prefix. */
export function encodeDefinitionLevels(levels: Uint8Array, nulls: number): Buffer {
  const count = levels.length;
  let body: Buffer;
  if (nulls === 0 || nulls === count) {
    // One RLE run: header varint (count << 1), then the value in one byte.
    const header = varint(count * 2);
    body = Buffer.concat([header, Buffer.from([nulls === 0 ? 1 : 0])]);
  } else {
    const groups = Math.ceil(count / 8);
    const header = varint(groups * 2 + 1);
    body = Buffer.alloc(header.length + groups);
    header.copy(body);
    for (let i = 0; i < count; i++) {
      if (levels[i] === 1) body[header.length + (i >> 3)] = (body[header.length + (i >> 3)] ?? 0) | (1 << (i & 7));
    }
  }
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32LE(body.length, 0);
  body.copy(out, 4);
  return out;
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

type ChunkMeta = { layout: ColumnLayout; name: string; offset: number; rows: number; compressed: number; uncompressed: number };
type RowGroupMeta = { rows: number; bytes: number; compressed: number; offset: number; chunks: ChunkMeta[] };

export type ParquetWriterOptions = {
  compression: Compression;
  /** Most rows in one row group; also the column buffers' capacity. */
  rowGroupRows: number;
  /** A row group is cut when its PLAIN values reach this many bytes (memory bound for wide rows). */
  rowGroupBytes: number;
  zeroDates: ZeroDatePolicy;
};

export const DEFAULT_WRITER_OPTIONS: ParquetWriterOptions = {
  compression: "snappy",
  rowGroupRows: 65_536,
  rowGroupBytes: 16 * 1024 * 1024,
  zeroDates: "null",
};

/**
 * Accepts rows (arrays in schema column order, values as mysql2 returns them) and returns the file's bytes as they
 * become final: `push` returns a row group's bytes when one is full, `finish` the last row group and the footer.
 */
export class ParquetWriter {
  private readonly columns: readonly TableColumn[];
  private readonly buffers: AnyColumnBuffer[];
  private readonly layouts: ColumnLayout[];
  private readonly options: ParquetWriterOptions;
  private readonly rowGroups: RowGroupMeta[] = [];
  private offset = 0;
  private rowsInGroup = 0;
  private started = false;
  totalRows = 0;

  constructor(columns: readonly TableColumn[], options: Partial<ParquetWriterOptions> = {}) {
    this.columns = columns;
    this.options = { ...DEFAULT_WRITER_OPTIONS, ...options };
    this.buffers = columns.map((c) => createColumnBuffer(c, this.options.rowGroupRows, this.options.zeroDates));
    this.layouts = columns.map(columnLayout);
  }

  /** Zero dates turned into NULL so far, per target column. */
  zeroDates(): Record<string, number> {
    return Object.fromEntries(this.buffers.filter((b) => b.zeroDates > 0).map((b) => [b.column.name, b.zeroDates]));
  }

  /** Adds one row; returns bytes to write when a row group became full, else undefined. */
  push(row: readonly unknown[]): Buffer | undefined {
    const buffers = this.buffers;
    for (let i = 0; i < buffers.length; i++) (buffers[i] as AnyColumnBuffer).push(row[i]);
    this.rowsInGroup++;
    this.totalRows++;
    if (this.rowsInGroup >= this.options.rowGroupRows || (this.rowsInGroup % 256 === 0 && this.bufferedBytes() >= this.options.rowGroupBytes)) {
      return this.flushRowGroup();
    }
    return undefined;
  }

  /** PLAIN bytes held in the current row group. */
  bufferedBytes(): number {
    let bytes = 0;
    for (const buffer of this.buffers) bytes += buffer.valueBytes();
    return bytes;
  }

  /** Writes the pending row group, if any; returns its bytes (with the file's magic before the first). */
  flushRowGroup(): Buffer | undefined {
    if (this.rowsInGroup === 0) return undefined;
    const parts: Buffer[] = [];
    if (!this.started) {
      parts.push(MAGIC);
      this.offset = MAGIC.length;
      this.started = true;
    }
    const groupOffset = this.offset;
    const chunks: ChunkMeta[] = [];
    let uncompressedTotal = 0;
    let compressedTotal = 0;
    for (let i = 0; i < this.buffers.length; i++) {
      const buffer = this.buffers[i] as AnyColumnBuffer;
      const page = this.encodePage(buffer.encode());
      buffer.reset();
      const chunk: ChunkMeta = {
        layout: this.layouts[i] as ColumnLayout,
        name: (this.columns[i] as TableColumn).name,
        offset: this.offset,
        rows: this.rowsInGroup,
        compressed: page.bytes.length,
        uncompressed: page.uncompressed,
      };
      chunks.push(chunk);
      parts.push(page.bytes);
      this.offset += page.bytes.length;
      uncompressedTotal += page.uncompressed;
      compressedTotal += page.bytes.length;
    }
    this.rowGroups.push({ rows: this.rowsInGroup, bytes: uncompressedTotal, compressed: compressedTotal, offset: groupOffset, chunks });
    this.rowsInGroup = 0;
    return Buffer.concat(parts);
  }

  private encodePage(column: EncodedColumn): { bytes: Buffer; uncompressed: number } {
    const levels = encodeDefinitionLevels(column.definitionLevels, column.nulls);
    const body = Buffer.concat([levels, column.values]);
    const compressed = compress(this.options.compression, body);
    const header = encodeStruct({
      1: i32(DATA_PAGE),
      2: i32(body.length),
      3: i32(compressed.length),
      5: struct({ 1: i32(column.rows), 2: i32(Encoding.PLAIN), 3: i32(Encoding.RLE), 4: i32(Encoding.RLE) }),
    });
    return { bytes: Buffer.concat([header, compressed]), uncompressed: header.length + body.length };
  }

  /** The last row group and the footer. A file with no rows still gets a valid, empty Parquet file. */
  finish(): Buffer {
    const parts: Buffer[] = [];
    const last = this.flushRowGroup();
    if (last !== undefined) parts.push(last);
    if (!this.started) {
      parts.push(MAGIC);
      this.started = true;
    }
    const footer = encodeStruct(this.fileMetadata());
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(footer.length, 0);
    parts.push(footer, length, MAGIC);
    return Buffer.concat(parts);
  }

  private fileMetadata(): ThriftStruct {
    const schema: ThriftValue[] = [struct({ 4: str("schema"), 5: i32(this.columns.length) }), ...this.layouts.map((l) => struct(l.element))];
    const codec = Codec[this.options.compression];
    const rowGroups = this.rowGroups.map((group) =>
      struct({
        1: list(
          "struct",
          group.chunks.map((chunk) =>
            struct({
              2: i64(chunk.offset),
              3: struct({
                1: i32(PhysicalType[chunk.layout.physical]),
                2: list("i32", [i32(Encoding.PLAIN), i32(Encoding.RLE)]),
                3: list("binary", [str(chunk.name)]),
                4: i32(codec),
                5: i64(chunk.rows),
                6: i64(chunk.uncompressed),
                7: i64(chunk.compressed),
                9: i64(chunk.offset),
              }),
            }),
          ),
        ),
        2: i64(group.bytes),
        3: i64(group.rows),
        5: i64(group.offset),
        6: i64(group.compressed),
      }),
    );
    return {
      1: i32(1),
      2: list("struct", schema),
      3: i64(this.totalRows),
      4: list("struct", rowGroups),
      6: str(CREATED_BY),
    };
  }
}
