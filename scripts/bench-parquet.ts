/**
 * npm run bench:parquet [-- --rows 500000]
 *
 * The Parquet writer alone (no MySQL, no S3): rows of 10 MySQL-shaped columns, given as the raw text bytes the
 * extractor receives, encoded with SNAPPY into row groups that are thrown away. Comparable with the encoder
 * measurements in shared/notes/local-stand-ins.md (500k rows × 10 columns, SNAPPY, this machine kind).
 */
import { parseArgs } from "node:util";
import type { TableColumn } from "#domain/table-schema.ts";
import { ParquetWriter } from "#parquet/writer.ts";

const { values } = parseArgs({ options: { rows: { type: "string", default: "500000" } } });
const ROWS = Number(values.rows);

const column = (name: string, sourceType: string, value: TableColumn["value"]): TableColumn => ({
  source: name,
  name,
  sourceType,
  value,
  redshiftType: "",
  nullable: true,
});
const columns: TableColumn[] = [
  column("id", "bigint(20)", { kind: "int64" }),
  column("merchant_id", "int(11)", { kind: "int32" }),
  column("order_ref", "varchar(64)", { kind: "string", maxBytes: 256 }),
  column("note", "text", { kind: "string", maxBytes: 65_535 }),
  column("amount", "decimal(18,4)", { kind: "decimal", precision: 18, scale: 4 }),
  column("fee", "decimal(38,10)", { kind: "decimal", precision: 38, scale: 10 }),
  column("rate", "double", { kind: "double" }),
  column("active", "tinyint(1)", { kind: "int32" }),
  column("settled_on", "date", { kind: "date" }),
  column("updated_at", "datetime(6)", { kind: "timestamp" }),
];

const text = (s: string) => Buffer.from(s, "latin1");
// A pool of distinct rows (generating them is not what is measured), cycled.
const pool = Array.from({ length: 10_000 }, (_, n) => [
  text(String(n * 3 + 1_000_000_000)),
  text(String(n % 5000)),
  text(`ORD-${(n * 7919).toString(16).toUpperCase()}`),
  n % 4 === 0 ? null : Buffer.from(`note for order ${n} ✓`, "utf8"),
  text(`${(n * 37) % 100_000}.${String(n % 10_000).padStart(4, "0")}`),
  n % 5 === 0 ? null : text(`${n}.${String(n).padStart(10, "0")}`),
  text(String(n / 7)),
  text(String(n % 2)),
  n % 3 === 0 ? null : text(`2024-${String((n % 12) + 1).padStart(2, "0")}-${String((n % 28) + 1).padStart(2, "0")}`),
  text(`2024-01-01 ${String(n % 24).padStart(2, "0")}:${String(n % 60).padStart(2, "0")}:00.${String(n).padStart(6, "0")}`),
]);

const writer = new ParquetWriter(columns, { compression: "snappy" });
let bytes = 0;
const sizeOf = (parts: Buffer[]) => parts.reduce((sum, part) => sum + part.length, 0);
const started = performance.now();
for (let i = 0; i < ROWS; i++) {
  const out = writer.push(pool[i % pool.length] ?? []);
  if (out !== undefined) bytes += sizeOf(out);
}
bytes += sizeOf(writer.finish());
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    date: new Date().toISOString(),
    node: process.version,
    rows: ROWS,
    columns: columns.length,
    rows_per_s: Math.round(ROWS / seconds),
    file_mb: Number((bytes / 2 ** 20).toFixed(1)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
