/**
 * Reconciliation's comparison (the repair: reconcile-repair.ts): every difference between a table in MySQL and in
 * Redshift over the whole table, by its unique key, whatever the strategy's window saw — deletes, updates that left
 * the cursor alone, rows committed behind the cursor, rows only in Redshift.
 *
 * Rows are grouped in buckets by their key (an integer key modulo a prime, any other key's hash: identical in both
 * engines, whatever the collation); per bucket, the row count and the sum of row hashes (CRC-32C, or 60 bits of MD5
 * where the source has no CRC32C) over the canonical text of every compared column (domain/reconcile/canonical.ts).
 * Differing buckets are compared once more (a row changing while this runs is not a difference), then row by row by
 * key. Memory holds one bucket summary per bucket and the rows of the differing buckets only.
 */
import { queryRow } from "#adapters/mysql.ts";
import type { Connection } from "mysql2/promise";
import { strategyFor } from "#domain/cdc/index.ts";
import { quotedTable, textOf, type InFlight } from "#domain/cdc/types.ts";
import { cursorOf } from "#domain/watermark.ts";
import {
  bucketOf,
  CRC32C_PROBE,
  notComparable,
  rowHash,
  rowText,
  SOFT_DELETE_COLUMN,
  valueText,
  type Dialect,
  type RowHash,
} from "#domain/reconcile/canonical.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import type { SqlFragment } from "#domain/cdc/keyset.ts";
import { rangePredicate } from "#domain/ranges.ts";
import { planFingerprint, resumable, type ReconcilePlan } from "#domain/reconcile/range-plan.ts";
import { addBuckets, bucketCount, bucketRows, summarySql, type Shape, type Summary } from "#domain/reconcile/summary.ts";
import { closePlan, comparisonPlan, inBatches, mysqlSummaryOf, rangeKey, storedPlan, summarizeRangesHere, type PlannedShape } from "./reconcile-ranges.ts";
import type { TableColumn, TableSchema } from "#domain/table-schema.ts";
import { checkedTableSchema } from "./begin.ts";
import { existingColumns, type LoadContext } from "./load.ts";
import { readWatermark, withTableSource, type TableContext } from "./sync-context.ts";

/** Buckets of one row-by-row query. */
const BUCKETS_PER_FETCH = 200;
/** Buckets named in one summary statement (≤ 7 bytes each: ~28 KB of the Data API's 100 KB). */
const BUCKETS_PER_SUMMARY = 4_000;
const EXAMPLES = 5;

export type ReconcileReport = {
  table: string;
  target: string;
  rows: { mysql: number; redshift: number };
  buckets: number;
  differingBuckets: number;
  missing: number;
  extra: number;
  different: number;
  /**
   * Rows MySQL changed after the table's last sync (cursor past the watermark's): the next sync carries them, so
   * they are neither differences nor repaired.
   */
  inFlight: number;
  /** A few keys of each kind (each key a list of its columns' values). */
  examples: { missing: string[][]; extra: string[][]; different: string[][] };
  /** The row hash compared (CRC-32C where the source computes it, else MD5). */
  hash: RowHash;
  notCompared: { column: string; why: string }[];
  durationSeconds: number;
  /**
   * MySQL's side summarized in key ranges (a big table): how many, the plan's id, and the ranges an earlier,
   * interrupted comparison had read (not read again).
   */
  ranges?: { count: number; plan: string; readBefore: number[] };
  /** The whole-table pass on each side (they run at once): what reconcile costs the source, and the warehouse. */
  passSeconds: { mysql: number; redshift: number };
};

/** What the repair needs besides the report: every differing key, and how rows were bucketed. */
export type Differences = {
  report: ReconcileReport;
  schema: TableSchema;
  /** The key compared by, the columns compared, the bucket count and the row hash. */
  shape: Shape;
  /** Buckets holding a difference. */
  differingBuckets: number[];
  /** Keys (canonical parts, JSON) of rows missing from Redshift or different there. */
  toLoad: Set<string>;
  /** Keys (canonical parts) of rows only in Redshift. */
  extra: string[][];
  /** MySQL's key ranges, when the table was compared in ranges: the repair reads the differing buckets in them too. */
  ranges?: ReconcilePlan["ranges"];
};

export class ReconcileRefusedError extends Error {
  override readonly name = "ReconcileRefusedError";
}

/** A value of a key part or hash as both sides compare it (mysql2 gives binary strings as bytes). */
export const partText = (value: unknown): string => (typeof value === "string" ? value : (textOf(value) ?? String(value)));

type KeyedRow = { key: string[]; hash: string; cursor?: string | undefined };

/** The key reconciliation compares by: the primary key, else the unique key the strategy pages on. */
function keyColumns(schema: TableSchema, table: string): TableColumn[] {
  const names = schema.primaryKey.length > 0 ? schema.primaryKey : schema.cursorKey;
  const columns = names.map((name) => schema.columns.find((c) => c.source.toLowerCase() === name.toLowerCase()));
  if (names.length === 0 || columns.some((c) => c === undefined)) {
    throw new ReconcileRefusedError(
      `${table}: no unique key that lands in Redshift to reconcile by (a primary key, or cdc_id_column naming a unique NOT NULL key)`,
    );
  }
  const approximate = columns.filter((c) => c !== undefined && notComparable(c) !== undefined);
  if (approximate.length > 0)
    throw new ReconcileRefusedError(`${table}: key column(s) ${approximate.map((c) => c?.source ?? "").join(", ")} cannot be compared exactly`);
  return columns as TableColumn[];
}

/** A key column's value as canonical text; JSON of the parts keys a row. */
export const keyParts = (dialect: Dialect, key: readonly TableColumn[]) => key.map((c) => valueText(dialect, c));

function rowsSql(dialect: Dialect, from: string, shape: Shape, only: readonly number[], cursor?: string, where?: SqlFragment): SqlFragment {
  // As text: a 60-bit value would lose digits as a JS number.
  const hash = `CAST(${rowHash(dialect, shape.hash, rowText(dialect, shape.compared))} AS ${dialect === "mysql" ? "CHAR" : "VARCHAR"})`;
  const bucket = bucketOf(dialect, shape.hash, shape.key, shape.buckets);
  const columns = [...keyParts(dialect, shape.key), hash, ...(cursor === undefined ? [] : [cursor])].join(", ");
  return {
    sql: `SELECT ${columns} FROM ${from} WHERE ${bucket} IN (${only.join(", ")})${where === undefined ? "" : ` AND ${where.sql}`}`,
    params: where?.params ?? [],
  };
}

/** The range as a predicate on the key, as its summary reads it (a plan is made only for a key that can be cut). */
export function rangeWhere(key: readonly TableColumn[], range: ReconcilePlan["ranges"][number]): SqlFragment | undefined {
  const columns = rangeKey(key);
  if (columns === undefined) throw new Error(`key ${key.map((c) => c.source).join(", ")} cannot be cut into ranges`);
  return rangePredicate(columns, { after: range.after, upTo: range.up_to });
}

/** The comparison's plan in key ranges for `mode` (undefined: one pass). */
async function planOf(context: LoadContext, connection: Connection, shape: PlannedShape, mode: RangesMode): Promise<ReconcilePlan | undefined> {
  if (mode === "off") return undefined;
  if (mode === "here") return comparisonPlan(context, connection, shape);
  const stored = await storedPlan(context);
  return resumable(stored, planFingerprint(shape.key, shape.compared, shape.hash), context.now()) ? stored : undefined;
}

/** CRC-32C where the source computes it (the fast hash; MariaDB ≥ 10.8), else MD5 (MySQL 8). */
async function rowHashOf(connection: Connection): Promise<RowHash> {
  try {
    await connection.query(CRC32C_PROBE);
    return "crc32c";
  } catch (error: unknown) {
    // ER_SP_DOES_NOT_EXIST (1305): FUNCTION CRC32C does not exist.
    if ((error as { errno?: number }).errno === 1305) return "md5";
    throw error;
  }
}

/** What a table is compared by: its schema, key, compared columns (and those not), and the row hash. */
export async function comparisonShape(
  context: Pick<TableContext, "table">,
  connection: Connection,
  hash?: RowHash,
): Promise<PlannedShape & { schema: TableSchema; notCompared: ReconcileReport["notCompared"] }> {
  const schema = await checkedTableSchema(context, connection);
  const notCompared = schema.columns.flatMap((c) => {
    const why = notComparable(c);
    return why === undefined ? [] : [{ column: c.source, why }];
  });
  return {
    schema,
    key: keyColumns(schema, context.table.key),
    compared: schema.columns.filter((c) => notComparable(c) === undefined),
    notCompared,
    hash: hash ?? (await rowHashOf(connection)),
  };
}

export async function reconcileTable(context: LoadContext): Promise<ReconcileReport> {
  return (await findDifferences(context)).report;
}

/**
 * How MySQL's side of a big table is summarized (docs/design.md §13): `here` — in key ranges read by this process at
 * once, resuming a plan a crash left (the CLI); `read` — the stored plan's ranges, read already by mode reconcile's
 * range readers; `off` — one pass. A table too small for ranges (or whose key cannot be cut) is one pass either way.
 */
export type RangesMode = "here" | "read" | "off";

export type FindOptions = {
  /** The row hash to compare with (default: the fastest the source computes; MD5 works on every source). */
  hash?: RowHash;
  ranges?: RangesMode;
};

export async function findDifferences(context: LoadContext, options: FindOptions = {}): Promise<Differences> {
  const started = Date.now();
  const { table, pipeline } = context;
  return withTableSource(context, async (connection) => {
    const { schema, key, compared, notCompared, hash } = await comparisonShape(context, connection, options.hash);
    const source = quotedTable(table);
    const targetTable = `${quoteRedshift(pipeline.target.schema)}.${quoteRedshift(table.targetName)}`;
    const existing = await existingColumns(context);
    if (existing.length === 0) {
      throw new ReconcileRefusedError(
        `${table.key}: its target ${pipeline.target.schema}.${table.targetName} does not exist in Redshift yet; sync the table first (mrsync sync pipeline -p ${pipeline.name} -t ${table.key})`,
      );
    }
    // Rows soft-deleted by an earlier reconcile are gone from the table's point of view.
    const softDeleted = existing.some((c) => c.name === SOFT_DELETE_COLUMN);
    const target = softDeleted ? `(SELECT * FROM ${targetTable} WHERE ${quoteRedshift(SOFT_DELETE_COLUMN)} IS NULL) AS live` : targetTable;

    const plan = await planOf(context, connection, { key, compared, hash }, options.ranges ?? "here");
    const buckets =
      plan?.buckets ?? bucketCount(Number(textOf((await queryRow(connection, { sql: `SELECT COUNT(*) FROM ${source}`, params: [] }))?.[0]) ?? "0"));
    const shape: Shape = { key, compared, buckets, hash };
    // Bucket lists go in slices: a statement stays far under the Data API's 100 KB however many buckets differ.
    const inSlices = async (only: readonly number[] | undefined, read: (slice?: readonly number[]) => Promise<[number, Summary][]>) => {
      if (only === undefined) return new Map(await read());
      const entries: [number, Summary][] = [];
      for (let i = 0; i < only.length; i += BUCKETS_PER_SUMMARY) entries.push(...(await read(only.slice(i, i + BUCKETS_PER_SUMMARY))));
      return new Map(entries);
    };
    const mysqlPass = (on: Connection, slice?: readonly number[], where?: SqlFragment) => {
      const query = summarySql("mysql", source, shape, slice, where);
      return on
        .query({ sql: query.sql, values: query.params, rowsAsArray: true })
        .then(([rows]) => (rows as unknown[][]).map((r): [number, string, string] => [Number(textOf(r[0])), textOf(r[1]) ?? "0", textOf(r[2]) ?? "0"]));
    };
    // Some buckets of a table compared in ranges: each range on a connection of its own, at once, summed.
    const inRanges = async (slice: readonly number[], ranged: ReconcilePlan) =>
      bucketRows(
        addBuckets(
          new Map(),
          (
            await inBatches(ranged.ranges, table.processing.max_parallel_ranges, (range) =>
              withTableSource(context, (own) => mysqlPass(own, slice, rangeWhere(shape.key, range))),
            )
          ).flat(),
        ),
      );
    const mysqlSummaries = (only?: readonly number[]) =>
      inSlices(only, async (slice) =>
        (plan === undefined || slice === undefined ? await mysqlPass(connection, slice) : await inRanges(slice, plan)).map(
          ([bucket, count, sum]): [number, Summary] => [bucket, { count, sum }],
        ),
      );
    // The whole-table pass of a table in ranges: the ranges' summaries (read here first, or by mode reconcile's readers).
    const rangedPass = async (ranged: ReconcilePlan) => {
      if (options.ranges !== "read") readBefore = await summarizeRangesHere(context, ranged, { key, compared, hash }, table.processing.max_parallel_ranges);
      const merged = await mysqlSummaryOf(context, ranged);
      if (merged === undefined) throw new Error(`${table.key}: reconcile plan ${ranged.id} has ranges not read; run the reconcile again`);
      return merged;
    };
    let readBefore: number[] = [];
    const redshiftSummaries = (only?: readonly number[]) =>
      inSlices(only, async (slice) => {
        const { rows } = await context.redshift.query(summarySql("redshift", target, shape, slice).sql);
        return rows.map((r): [number, Summary] => [Number(r[0]), { count: String(r[1]), sum: String(r[2] ?? "0") }]);
      });
    const differing = (a: Map<number, Summary>, b: Map<number, Summary>) =>
      [...new Set([...a.keys(), ...b.keys()])].filter((bucket) => JSON.stringify(a.get(bucket)) !== JSON.stringify(b.get(bucket))).sort((x, y) => x - y);

    const inFlight = await inFlightTest(context, schema);
    // Both engines work at once: the wall time is the slower side's.
    const timed = async <T>(work: Promise<T>): Promise<[T, number]> => {
      const start = performance.now();
      const result = await work;
      return [result, Number(((performance.now() - start) / 1000).toFixed(3))];
    };
    const [[mysqlAll, mysqlSeconds], [redshiftAll, redshiftSeconds]] = await Promise.all([
      timed(plan === undefined ? mysqlSummaries() : rangedPass(plan)),
      timed(redshiftSummaries()),
    ]);
    const total = (m: Map<number, Summary>) => [...m.values()].reduce((sum, s) => sum + Number(s.count), 0);
    let suspects = differing(mysqlAll, redshiftAll);
    // A row that changed while the whole-table pass ran shows as a difference once; a real one stays.
    if (suspects.length > 0) suspects = differing(...(await Promise.all([mysqlSummaries(suspects), redshiftSummaries(suspects)])));

    const report: ReconcileReport = {
      table: table.key,
      target: `${pipeline.target.schema}.${table.targetName}`,
      rows: { mysql: total(mysqlAll), redshift: total(redshiftAll) },
      buckets,
      differingBuckets: suspects.length,
      missing: 0,
      extra: 0,
      different: 0,
      inFlight: 0,
      examples: { missing: [], extra: [], different: [] },
      hash,
      notCompared,
      durationSeconds: 0,
      passSeconds: { mysql: mysqlSeconds, redshift: redshiftSeconds },
      ...(plan === undefined ? {} : { ranges: { count: plan.ranges.length, plan: plan.id, readBefore } }),
    };
    const toLoad = new Set<string>();
    const extra: string[][] = [];
    for (let i = 0; i < suspects.length; i += BUCKETS_PER_FETCH) {
      const only = suspects.slice(i, i + BUCKETS_PER_FETCH);
      const mysqlRows = (on: Connection, where?: SqlFragment) => {
        const query = rowsSql("mysql", source, shape, only, inFlight?.expression, where);
        return on.query({ sql: query.sql, values: query.params, rowsAsArray: true }).then(([rows]) => rows as unknown[][]);
      };
      // A table in ranges: the differing buckets' rows range by range, each on a connection of its own, at once (the
      // bucket filter uses no index: each query scans its part of the table).
      const [mysqlFetched, redshiftFetched] = await Promise.all([
        plan === undefined
          ? mysqlRows(connection)
          : inBatches(plan.ranges, table.processing.max_parallel_ranges, (range) =>
              withTableSource(context, (own) => mysqlRows(own, rangeWhere(shape.key, range))),
            ).then((parts) => parts.flat()),
        context.redshift.query(rowsSql("redshift", target, shape, only).sql),
      ]);
      const keyed = (rows: unknown[][]): Map<string, KeyedRow> =>
        new Map(
          rows.map((r) => {
            const parts = r.slice(0, key.length).map(partText);
            const cursor = r[key.length + 1];
            return [
              JSON.stringify(parts),
              { key: parts, hash: partText(r[key.length]), cursor: cursor === undefined || cursor === null ? undefined : partText(cursor) },
            ];
          }),
        );
      const inMysql = keyed(mysqlFetched);
      const inRedshift = keyed(redshiftFetched.rows);
      const note = (kind: "missing" | "extra" | "different", k: string, row: KeyedRow) => {
        report[kind]++;
        if (report.examples[kind].length < EXAMPLES) report.examples[kind].push(row.key);
        if (kind === "extra") extra.push(row.key);
        else toLoad.add(k);
      };
      for (const [k, row] of inMysql) {
        const other = inRedshift.get(k);
        if (other?.hash === row.hash) continue;
        if (inFlight !== undefined && row.cursor !== undefined && inFlight.after(row.cursor)) {
          report.inFlight++;
          continue;
        }
        note(other === undefined ? "missing" : "different", k, row);
      }
      for (const [k, row] of inRedshift) if (!inMysql.has(k)) note("extra", k, row);
    }
    report.durationSeconds = (Date.now() - started) / 1000;
    // Its summaries used: the next comparison plans anew (a crash before here resumes this one).
    if (plan !== undefined) await closePlan(context, plan);
    return { report, schema, shape, differingBuckets: suspects, toLoad, extra, ...(plan === undefined ? {} : { ranges: plan.ranges }) };
  });
}

/**
 * Which MySQL rows the table's next sync will carry anyway: a cursor value past the watermark's, as the table's
 * strategy tells it (the timestamp for timestamp strategies, a one-column integer key for id_only). Undefined where
 * that cannot be told exactly.
 */
async function inFlightTest(context: LoadContext, schema: TableSchema): Promise<InFlight | undefined> {
  const watermark = await readWatermark(context);
  return watermark === undefined ? undefined : strategyFor(context.table, schema).inFlight(cursorOf(watermark));
}

/** The report's differences in one line (empty when none). */
export function differencesOf(report: ReconcileReport): string {
  const parts = [
    report.missing > 0 ? `${report.missing} missing in Redshift (e.g. ${JSON.stringify(report.examples.missing)})` : "",
    report.extra > 0 ? `${report.extra} only in Redshift (e.g. ${JSON.stringify(report.examples.extra)})` : "",
    report.different > 0 ? `${report.different} different (e.g. ${JSON.stringify(report.examples.different)})` : "",
  ].filter((p) => p !== "");
  return parts.join("; ");
}
