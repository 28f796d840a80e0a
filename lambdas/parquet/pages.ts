/**
 * A row group's data pages: one v1 data page per column (RLE definition levels, PLAIN values, compressed), handed out
 * as the list of their parts (header, page, header, page, …) to be written in order; the writer keeps the file's
 * layout and footer.
 */
import { createRequire } from "node:module";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { encodeStruct, i32, struct } from "./thrift.ts";

export type Compression = "snappy" | "gzip" | "zstd" | "none";

/** One column of a row group as the column buffers hold it: PLAIN values (non-null only), one level per row. */
export type EncodedColumn = { values: Uint8Array; definitionLevels: Uint8Array; rows: number; nulls: number };

/** One column chunk's page in the row group's bytes: its size there and its uncompressed size (footer fields). */
export type PageSize = { bytes: number; uncompressed: number };

/** A row group's pages, in column order: the parts to write (each owns its memory) and each page's sizes. */
export type RowGroupPages = { parts: Buffer[]; pages: PageSize[] };

const DATA_PAGE = 0;
const Encoding = { PLAIN: 0, RLE: 3 } as const;

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

/**
 * A v1 page's body: the definition levels (RLE/bit-packed hybrid, bit width 1, with their 4-byte length prefix)
 * followed by the values, in one buffer.
 */
export function pageBody(levels: Uint8Array, nulls: number, values: Uint8Array, allocate: (size: number) => Buffer = freshBody): Buffer {
  const count = levels.length;
  const bitPacked = nulls !== 0 && nulls !== count;
  const groups = Math.ceil(count / 8);
  // One RLE run (header varint count << 1, then the value in one byte), or bit-packed groups of 8 levels.
  const header = bitPacked ? varint(groups * 2 + 1) : varint(count * 2);
  const levelBytes = header.length + (bitPacked ? groups : 1);
  const body = allocate(4 + levelBytes + values.length);
  body.writeUInt32LE(levelBytes, 0);
  header.copy(body, 4);
  const at = 4 + header.length;
  if (!bitPacked) body[at] = nulls === 0 ? 1 : 0;
  else {
    // Eight levels (each 0 or 1) to a byte, least significant first; the last group is padded with zeros.
    const whole = count >> 3;
    for (let g = 0, i = 0; g < whole; g++, i += 8) {
      body[at + g] =
        (levels[i] ?? 0) |
        ((levels[i + 1] ?? 0) << 1) |
        ((levels[i + 2] ?? 0) << 2) |
        ((levels[i + 3] ?? 0) << 3) |
        ((levels[i + 4] ?? 0) << 4) |
        ((levels[i + 5] ?? 0) << 5) |
        ((levels[i + 6] ?? 0) << 6) |
        ((levels[i + 7] ?? 0) << 7);
    }
    if (whole < groups) {
      let last = 0;
      for (let i = whole * 8; i < count; i++) last |= (levels[i] ?? 0) << (i & 7);
      body[at + whole] = last;
    }
  }
  body.set(values, 4 + levelBytes);
  return body;
}

/** Memory of the body's own (an uncompressed body is the page itself). */
const freshBody = (size: number): Buffer => Buffer.allocUnsafe(size);

/** Bodies above this are not kept for the next page (a huge TEXT page must not pin its memory). */
const SCRATCH_MAX_BYTES = 32 * 1024 * 1024;
let scratch = Buffer.allocUnsafeSlow(0);

/**
 * Memory for a page body that is compressed at once and then dropped: one buffer, reused. A fresh buffer per page
 * made every body's copy fault in new pages: 13 % of the writer's time (bench:parquet's profile).
 */
function scratchBody(size: number): Buffer {
  if (size > SCRATCH_MAX_BYTES) return Buffer.allocUnsafeSlow(size);
  if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, 2 * scratch.length));
  return scratch.subarray(0, size);
}

/** Every column's page of one row group, in order: headers and pages as parts, never copied into one buffer. */
export function encodeRowGroup(columns: readonly EncodedColumn[], compression: Compression): RowGroupPages {
  const parts: Buffer[] = [];
  const pages: PageSize[] = [];
  for (const column of columns) {
    // Uncompressed, the body is the page itself and must own its memory.
    const body = pageBody(column.definitionLevels, column.nulls, column.values, compression === "none" ? freshBody : scratchBody);
    const compressed = compress(compression, body);
    const header = encodeStruct({
      1: i32(DATA_PAGE),
      2: i32(body.length),
      3: i32(compressed.length),
      5: struct({ 1: i32(column.rows), 2: i32(Encoding.PLAIN), 3: i32(Encoding.RLE), 4: i32(Encoding.RLE) }),
    });
    parts.push(header, compressed);
    pages.push({ bytes: header.length + compressed.length, uncompressed: header.length + body.length });
  }
  return { parts, pages };
}
