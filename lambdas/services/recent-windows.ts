/**
 * id_only's recent windows compared with Redshift, key range by key range (Finish): a row committed into a window after
 * it was read (an auto-increment id a long transaction took before a run's ceiling) is in MySQL and not in Redshift.
 * Counting whole windows misses it wherever rows were deleted from the same window since — and a first sync's window
 * is the whole table, where an application deletes old rows all the time. So the windows are split into many narrow
 * ranges of the key (buckets), counted on both sides in one statement each: a bucket MySQL holds more rows of than
 * Redshift holds late rows (a delete only lowers MySQL's count), and just that range is read again.
 *
 * Applies to a key of one integer column (AUTO_INCREMENT, a sequence: the keys that commit late); other keys keep
 * Begin's whole-window recount (begin.ts).
 */
import { queryRows } from "#adapters/mysql.ts";
import { strategyContext } from "#domain/cdc/index.ts";
import { quotedTable, quoteIdentifier, textOf } from "#domain/cdc/types.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import type { TableSchema } from "#domain/table-schema.ts";
import type { ExtractedWindow, ShortWindow } from "#domain/watermark.ts";
import type { LoadContext } from "./load.ts";
import { withSource } from "./sync-context.ts";

/** Buckets the recent windows are split into: narrow enough that a delete rarely shares one with a late row. */
export const RECENT_WINDOW_BUCKETS = 16_384;
/**
 * The most keys compared a run (≈ 3 s a side: docs/benchmarks.md): recent windows holding more — a first sync of a
 * large table — are compared by their newest keys, where an id a long transaction took before the ceiling lies.
 */
export const RECENT_COMPARE_MAX_ROWS = 5_000_000;

/** The key range (after, upTo] the recent windows cover together (contiguous: each run starts where the last ended). */
function rangeOf(windows: readonly ExtractedWindow[]): { after: bigint | null; upTo: bigint } | undefined {
  const ends = windows.map((w) => w.end.key?.[0]).filter((k): k is string => k !== undefined);
  if (ends.length !== windows.length || ends.length === 0) return undefined;
  const starts = windows.map((w) => (w.start === null || w.start.key === null ? null : (w.start.key[0] ?? null)));
  const upTo = ends.map(BigInt).reduce((a, b) => (b > a ? b : a));
  const after = starts.includes(null) ? null : starts.map((s) => BigInt(s ?? "0")).reduce((a, b) => (b < a ? b : a));
  return { after, upTo };
}

/**
 * The key ranges of the recent windows MySQL holds more rows of than Redshift, as windows to read again (adjacent
 * buckets merged). Empty where the key is not one integer column or nothing is late.
 */
export async function lateRangesOfRecentWindows(
  context: LoadContext,
  schema: TableSchema,
  windows: readonly ExtractedWindow[],
  maxRows = RECENT_COMPARE_MAX_ROWS,
): Promise<ShortWindow[]> {
  const [key, ...more] = strategyContext(context.table, schema).key;
  if (key === undefined || more.length > 0 || key.kind !== "integer") return [];
  const range = rangeOf(windows);
  if (range === undefined) return [];
  const column = quoteIdentifier(key.source);
  const table = quotedTable(context.table);
  const counted = await withSource(context, async (connection) => {
    let after = range.after;
    if (after === null) {
      const [first] = await queryRows(connection, { sql: `SELECT MIN(${column}) FROM ${table} WHERE ${column} <= ?`, params: [range.upTo] });
      const min = textOf(first?.[0]);
      if (min === null) return undefined;
      after = BigInt(min) - 1n;
    }
    const rows = windows.reduce((sum, w) => sum + w.rows, 0);
    if (rows > maxRows) after = range.upTo - ((range.upTo - after) * BigInt(maxRows)) / BigInt(rows);
    const width = (range.upTo - after + BigInt(RECENT_WINDOW_BUCKETS) - 1n) / BigInt(RECENT_WINDOW_BUCKETS) || 1n;
    const counts = await queryRows(connection, {
      sql: `SELECT FLOOR((${column} - ?) / ?) AS b, COUNT(*) FROM ${table} WHERE ${column} > ? AND ${column} <= ? GROUP BY b`,
      params: [after, width, after, range.upTo],
    });
    return { after, width, mysql: new Map(counts.map((r) => [textOf(r[0]) ?? "", Number(textOf(r[1]) ?? "0")])) };
  });
  if (counted === undefined) return [];
  const { after, width } = counted;
  const target = `${quoteRedshift(context.pipeline.target.schema)}.${quoteRedshift(context.table.targetName)}`;
  const name = quoteRedshift(key.name);
  const inRedshift = await context.redshift.query(
    `SELECT FLOOR(CAST(${name} - ${after} AS DECIMAL(38,0)) / ${width}) AS b, COUNT(*) FROM ${target} WHERE ${name} > ${after} AND ${name} <= ${range.upTo} GROUP BY 1`,
  );
  const redshift = new Map(inRedshift.rows.map((r) => [String(r[0]), Number(r[1])]));
  const late = [...counted.mysql.entries()]
    .filter(([bucket, rows]) => rows > (redshift.get(bucket) ?? 0))
    .map(([bucket, rows]) => ({ bucket: BigInt(bucket), mysql: rows, redshift: redshift.get(bucket) ?? 0 }))
    .sort((a, b) => (a.bucket < b.bucket ? -1 : 1));
  // Adjacent buckets read again as one range, bounded by the recent windows.
  const merged: { from: bigint; to: bigint; mysql: number; redshift: number }[] = [];
  for (const one of late) {
    const last = merged.at(-1);
    if (last !== undefined && last.to === one.bucket - 1n)
      Object.assign(last, { to: one.bucket, mysql: last.mysql + one.mysql, redshift: last.redshift + one.redshift });
    else merged.push({ from: one.bucket, to: one.bucket, mysql: one.mysql, redshift: one.redshift });
  }
  const schemaKey = windows.at(-1)?.schema_key ?? "";
  return merged.map((r) => {
    // Bucket b holds the keys after + b·width … after + (b+1)·width − 1: the range after the one before it.
    const start = after + r.from * width - 1n;
    const end = after + (r.to + 1n) * width - 1n;
    const window: ExtractedWindow = {
      start: { timestamp: null, key: [String(start > after ? start : after)] },
      end: { timestamp: null, key: [String(end < range.upTo ? end : range.upTo)] },
      rows: r.redshift,
      run_id: "recent-windows",
      schema_key: schemaKey,
    };
    return { window, mysqlRows: r.mysql, loadedRows: r.redshift };
  });
}

/** (start, end] of a window on a one-integer-column key (null start: from the beginning); undefined otherwise. */
function boundsOf(window: ExtractedWindow): { after: bigint | null; upTo: bigint } | undefined {
  const end = window.end.key;
  const start = window.start?.key ?? null;
  if (end?.length !== 1 || (start !== null && start.length !== 1)) return undefined;
  return { after: start === null ? null : BigInt(start[0] ?? "0"), upTo: BigInt(end[0] ?? "0") };
}

/** `inner` lies inside `outer` (windows on a one-integer-column key; false for any other key). */
export const covers = (outer: ExtractedWindow, inner: ExtractedWindow): boolean => {
  const o = boundsOf(outer);
  const i = boundsOf(inner);
  if (o === undefined || i === undefined) return false;
  return (o.after === null || (i.after !== null && o.after <= i.after)) && i.upTo <= o.upTo;
};

/**
 * The windows to read again: a window validation found late is replaced by the late ranges found inside it (narrower
 * re-reads); late ranges of the recent windows that no such window covers are added.
 */
export function narrowed(validation: readonly ShortWindow[], ranges: readonly ShortWindow[]): ShortWindow[] {
  const taken = new Set<ShortWindow>();
  const windows = validation.flatMap((late) => {
    const inside = ranges.filter((range) => covers(late.window, range.window));
    if (inside.length === 0) return [late];
    inside.forEach((range) => taken.add(range));
    // The same rows, found late again: the window's history of re-reads goes with them.
    const history = late.window.reread;
    return inside.map((range) => (history === undefined ? range : { ...range, window: { ...range.window, reread: history } }));
  });
  return [...windows, ...ranges.filter((range) => !taken.has(range) && !windows.some((w) => covers(w.window, range.window)))];
}
