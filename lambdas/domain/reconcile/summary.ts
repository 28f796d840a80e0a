/**
 * Pure: one side's whole-table pass of reconciliation (docs/design.md §13) — per bucket of the unique key, the row
 * count and the sum of row hashes — and how summaries of parts of a table add up to the table's.
 */
import type { SqlFragment } from "#domain/cdc/keyset.ts";
import type { TableColumn } from "#domain/table-schema.ts";
import { bucketOf, hashSum, primeAtLeast, rowText, type Dialect, type RowHash } from "./canonical.ts";

/** Rows per bucket aimed at: a differing bucket is read row by row, so small buckets keep that cheap. */
export const BUCKET_ROWS = 1_000;

/** The bucket count for a table of about `rows` rows (a prime: no stride of keys fills the buckets unevenly). */
export const bucketCount = (rows: number): number => primeAtLeast(Math.max(64, rows / BUCKET_ROWS));

/** How the rows of one side are bucketed and hashed. */
export type Shape = { key: readonly TableColumn[]; compared: readonly TableColumn[]; buckets: number; hash: RowHash };

/** One bucket of a summary: its rows and its sum of row hashes, as decimal text. */
export type Summary = { count: string; sum: string };

/**
 * One side's pass (of some buckets: `only`; of some rows: `where`, a MySQL predicate): bucket, row count, sum of row
 * hashes.
 */
export function summarySql(dialect: Dialect, from: string, shape: Shape, only?: readonly number[], where?: SqlFragment): SqlFragment {
  const bucket = bucketOf(dialect, shape.hash, shape.key, shape.buckets);
  const conditions = [...(only === undefined ? [] : [`${bucket} IN (${only.join(", ")})`]), ...(where === undefined ? [] : [where.sql])];
  return {
    sql: `SELECT ${bucket} AS b, COUNT(*), ${hashSum(dialect, shape.hash, rowText(dialect, shape.compared))} FROM ${from}${conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`} GROUP BY 1`,
    params: where?.params ?? [],
  };
}

/** Adds bucket rows ([bucket, count, sum], as both engines print them) to a summary's buckets. */
export function addBuckets(into: Map<number, Summary>, rows: Iterable<readonly [number, string, string]>): Map<number, Summary> {
  for (const [bucket, count, sum] of rows) {
    const had = into.get(bucket);
    into.set(
      bucket,
      had === undefined
        ? { count: BigInt(count).toString(), sum: BigInt(sum).toString() }
        : {
            count: (BigInt(had.count) + BigInt(count)).toString(),
            sum: (BigInt(had.sum) + BigInt(sum)).toString(),
          },
    );
  }
  return into;
}

export const bucketRows = (summary: Map<number, Summary>): [number, string, string][] =>
  [...summary].sort(([a], [b]) => a - b).map(([bucket, s]) => [bucket, s.count, s.sum]);
