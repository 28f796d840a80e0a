/**
 * A plain Parquet writer for the table schema: v1 data pages, PLAIN values, RLE definition levels, every column
 * OPTIONAL, no key/value metadata, columns in target order (Redshift COPY maps Parquet columns by position).
 * It produces the file as a sequence of byte chunks — one per row group, then the footer — so a caller can stream
 * it to S3 while holding at most one row group in memory.
 *
 * Why not a library: see docs/parquet-writer.md (measured: parquet-wasm always embeds ARROW:schema key/value
 * metadata, hyparquet-writer writes only v2 pages, @dsnp/parquetjs is broken or wrong on DECIMAL).
 */
import type { TableColumn } from "#domain/table-schema.ts";
import { createColumnBuffer, decimalStorage, type AnyColumnBuffer, type RowBytes, type ZeroDatePolicy } from "./columns.ts";
import { encodeRowGroup, type Compression, type PageSize } from "./pages.ts";
import { encodeStruct, i8, i32, i64, list, str, struct, bool, type ThriftStruct, type ThriftValue } from "./thrift.ts";

export type { Compression } from "./pages.ts";

const MAGIC = Buffer.from("PAR1", "ascii");
const CREATED_BY = "mysql-redshift-sync";

// parquet.thrift enums
const PhysicalType = { BOOLEAN: 0, INT32: 1, INT64: 2, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6, FIXED_LEN_BYTE_ARRAY: 7 } as const;
const ConvertedType = { UTF8: 0, DECIMAL: 5, DATE: 6, TIMESTAMP_MICROS: 10, INT_8: 15, INT_16: 16 } as const;
const Codec = { none: 0, snappy: 1, gzip: 2, zstd: 6 } as const;
const Encoding = { PLAIN: 0, RLE: 3 } as const;
const OPTIONAL = 1;

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

/** A row group as the footer describes it. */
type RowGroupMeta = { rows: number; pages: PageSize[] };

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
 * Bytes come as part lists, to be written in order: a page is copied once, into its row group's buffer.
 */
export class ParquetWriter {
  private readonly columns: readonly TableColumn[];
  private readonly buffers: AnyColumnBuffer[];
  private readonly layouts: ColumnLayout[];
  private readonly options: ParquetWriterOptions;
  private readonly rowGroups: RowGroupMeta[] = [];
  private rowsInGroup = 0;
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
  push(row: readonly unknown[]): Buffer[] | undefined {
    const buffers = this.buffers;
    for (let i = 0; i < buffers.length; i++) (buffers[i] as AnyColumnBuffer).push(row[i]);
    return this.added();
  }

  /** Adds one row given as bytes in place (MySQL's packet); as `push`. */
  pushBytes(row: RowBytes): Buffer[] | undefined {
    const { buffers } = this;
    const { bytes, starts, ends } = row;
    for (let i = 0; i < buffers.length; i++) {
      const start = starts[i] ?? -1;
      const buffer = buffers[i] as AnyColumnBuffer;
      if (start < 0) buffer.pushNull();
      else buffer.pushBytes(bytes, start, ends[i] ?? start);
    }
    return this.added();
  }

  private added(): Buffer[] | undefined {
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

  /** Encodes the pending row group, if any; its bytes (with the file's magic before the first). */
  flushRowGroup(): Buffer[] | undefined {
    if (this.rowsInGroup === 0) return undefined;
    const first = this.rowGroups.length === 0;
    const { parts, pages } = encodeRowGroup(
      this.buffers.map((buffer) => buffer.encode()),
      this.options.compression,
    );
    this.rowGroups.push({ rows: this.rowsInGroup, pages });
    for (const buffer of this.buffers) buffer.reset();
    this.rowsInGroup = 0;
    return first ? [MAGIC, ...parts] : parts;
  }

  /** The last row group and the footer. A file with no rows still gets a valid, empty Parquet file. */
  finish(): Buffer[] {
    const parts = this.flushRowGroup() ?? [];
    if (this.rowGroups.length === 0) parts.push(MAGIC);
    const footer = encodeStruct(this.fileMetadata());
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32LE(footer.length, 0);
    parts.push(footer, length, MAGIC);
    return parts;
  }

  private fileMetadata(): ThriftStruct {
    const schema: ThriftValue[] = [struct({ 4: str("schema"), 5: i32(this.columns.length) }), ...this.layouts.map((l) => struct(l.element))];
    const codec = Codec[this.options.compression];
    // Pages lie one after the other from just after the leading magic: each column chunk's offset is the sum before it.
    let offset = MAGIC.length;
    const rowGroups = this.rowGroups.map((group) => {
      const pages = group.pages;
      const groupOffset = offset;
      let uncompressed = 0;
      const chunks = pages.map((page, i) => {
        const layout = this.layouts[i] as ColumnLayout;
        const chunk = struct({
          2: i64(offset),
          3: struct({
            1: i32(PhysicalType[layout.physical]),
            2: list("i32", [i32(Encoding.PLAIN), i32(Encoding.RLE)]),
            3: list("binary", [str((this.columns[i] as TableColumn).name)]),
            4: i32(codec),
            5: i64(group.rows),
            6: i64(page.uncompressed),
            7: i64(page.bytes),
            9: i64(offset),
          }),
        });
        offset += page.bytes;
        uncompressed += page.uncompressed;
        return chunk;
      });
      return struct({
        1: list("struct", chunks),
        2: i64(uncompressed),
        3: i64(group.rows),
        5: i64(groupOffset),
        6: i64(offset - groupOffset),
      });
    });
    return {
      1: i32(1),
      2: list("struct", schema),
      3: i64(this.totalRows),
      4: list("struct", rowGroups),
      6: str(CREATED_BY),
    };
  }
}
