/**
 * Plans a table's key ranges (domain/ranges.ts) from MySQL's own order of its unique key: one pass along the key's
 * index that stops every `step` keys (`LIMIT 1 OFFSET step - 1` after the last stop), so the ranges hold about equal
 * rows whatever the key's shape (composite, text in its collation, binary) or density, and the server sends back
 * one key per step, not the rows. The estimate of the table's rows only sizes the step: when it is wrong the pass
 * takes more (or fewer) steps, never uneven ranges. Rows written while it runs change the balance, never the cover.
 */
import type { Connection } from "mysql2/promise";
import { keyText, type KeyColumn } from "#domain/cdc/keyset.ts";
import { countAfterQuery, planFromSample, rangeCount, stepQuery, type KeyRange, type KeySample, type RangeSetting } from "#domain/ranges.ts";
import { queryRow } from "#adapters/mysql.ts";

/** Samples per planned range: a range is then within 1/(2 × this) of its share (one step). */
export const SAMPLES_PER_RANGE = 16;
/** At most this many samples (queries) in one pass: past it the step doubles and every other sample is dropped. */
export const MAX_SAMPLES = 4096;
/** The smallest step: a tiny table is not sampled key by key. */
export const MIN_STEP = 1000;

/** A table's unique key, and where its window ends (`upTo`, the run's ceiling: no range reaches past it; null: the last key). */
export type KeyedTable = { key: string; from: string; keyColumns: readonly KeyColumn[]; upTo?: string[] | null };

/** The table's rows as InnoDB estimates them (information_schema.TABLES.TABLE_ROWS): cheap, often off by 2×. */
export async function estimatedRows(connection: Connection, schema: string, table: string): Promise<number> {
  const row = await queryRow(connection, {
    sql: "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
    params: [schema, table],
  });
  const rows = Number(row?.[0] ?? 0);
  return Number.isFinite(rows) ? rows : 0;
}

/** Every `step`-th key in the key's order; the step doubles whenever MAX_SAMPLES keys are held (a table far larger than estimated). */
export async function sampleKeys(connection: Connection, table: KeyedTable, step: number): Promise<KeySample> {
  const keys: string[][] = [];
  let current = Math.max(1, step);
  let after: string[] | null = null;
  for (;;) {
    const query = stepQuery(table.from, table.keyColumns, after, current, table.upTo ?? null);
    const row = await queryRow(connection, query);
    if (row === undefined) break;
    const key = table.keyColumns.map((column, i) => {
      const text = keyText(column, row[i]);
      if (text === null) throw new Error(`${table.key}: key column ${column.source} is NULL; a key range needs NOT NULL key columns`);
      return text;
    });
    keys.push(key);
    after = key;
    if (keys.length >= MAX_SAMPLES) {
      // Twice the step from here on; keeping every other sample keeps the ones behind evenly spaced too.
      const kept = keys.filter((_, i) => i % 2 === 1);
      keys.splice(0, keys.length, ...kept);
      current *= 2;
    }
  }
  // What lies after the last sample: fewer than a step of keys (the scan the last step query made, once more).
  const tail = await queryRow(connection, countAfterQuery(table.from, table.keyColumns, after, current, table.upTo ?? null));
  return { step: current, keys, tail: Number(tail?.[0] ?? 0) };
}

/**
 * The table's key ranges for `setting` (`processing.parallel_ranges`) and `maxParallel`: one range (the whole table)
 * when the table is small or ranges are off, else ranges of about equal rows.
 */
export async function planKeyRanges(
  connection: Connection,
  table: KeyedTable & { schema: string; table: string },
  setting: RangeSetting,
  maxParallel: number,
): Promise<KeyRange[]> {
  const estimate = await estimatedRows(connection, table.schema, table.table);
  const wanted = rangeCount(setting, maxParallel, estimate);
  if (wanted <= 1 || table.keyColumns.length === 0) return [{ index: 0, after: null, upTo: null, rows: estimate }];
  const step = Math.max(MIN_STEP, Math.floor(estimate / (wanted * SAMPLES_PER_RANGE)));
  return planFromSample(await sampleKeys(connection, table, step), wanted);
}
