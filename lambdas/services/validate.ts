/**
 * Validation (docs/design.md §8, §12 and the table's `validation` settings), in two places:
 * - before loading: when a table's extraction ends, the window's MySQL count (the chunk queries' own predicate)
 *   against the rows extracted — a shortfall fails the table before its files are loaded;
 * - after loading: every window whose files a load loaded (this run's, or a failed or earlier run's) counted in MySQL
 *   and in Redshift, duplicate keys in Redshift, the share of NULLs per column, optionally a content checksum.
 * Problems fail the table with the numbers; the report is returned either way for the run summary and metrics.
 */
import { queryRow } from "#adapters/mysql.ts";
import { strategyContext, strategyFor } from "#domain/cdc/index.ts";
import type { SqlFragment } from "#domain/cdc/keyset.ts";
import { quotedTable, textOf, type Position } from "#domain/cdc/types.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import type { TableSchema } from "#domain/table-schema.ts";
import { checksumSql, comparableWindow, countProblems, lateRowsOf, nullProblems, sourceWindow, type Counts, type WindowKeys } from "#domain/validation.ts";
import { fromStored, type ExtractedWindow, type LateWindow, type ShortWindow, type StoredPosition } from "#domain/watermark.ts";
import { loadMode, type LoadContext } from "./load.ts";
import { loadSchema, withSource, type TableContext } from "./sync-context.ts";

export type ValidationReport = {
  counts: Counts | undefined;
  /** MySQL's and Redshift's checksums of the window's key and cursor columns (content_checksum: true). */
  checksums: { mysql: string; redshift: string } | undefined;
  nullPercentages: Record<string, number>;
  /** Windows validated (each an extraction window whose files were loaded). */
  windows: number;
  /** What could not be compared, and why (e.g. a string key Redshift orders differently: a wider window was counted). */
  notes: string[];
  problems: string[];
  /** Windows MySQL holds more rows of than Redshift (rows committed into them after they were read): read again. */
  late: ShortWindow[];
  /** Windows with a problem (they stay listed: the next load validates them again; the others leave the list). */
  failed: ExtractedWindow[];
};

/** The loaded rows do not match the source (or fail the quality rules): the message carries the numbers. */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
  readonly report: ValidationReport;
  constructor(report: ValidationReport) {
    super(report.problems.join("\n"));
    this.report = report;
  }
}

/** The extraction read fewer rows than MySQL holds in its window: its files are not loaded. */
export class ExtractionShortfallError extends Error {
  override readonly name = "ExtractionShortfallError";
}

const windowKeys = (context: TableContext, schema: TableSchema): WindowKeys => {
  const strategy = strategyContext(context.table, schema);
  return { timestamp: strategy.timestamp, key: strategy.key };
};

async function mysqlCount(context: TableContext, where: SqlFragment): Promise<number> {
  return withSource(context, async (connection) =>
    Number(
      textOf((await queryRow(connection, { sql: `SELECT COUNT(*) FROM ${quotedTable(context.table)} WHERE ${where.sql}`, params: where.params }))?.[0]) ?? "0",
    ),
  );
}

/**
 * The rows MySQL holds now in each window, counted with the chunk queries' predicate, in one statement (a scalar
 * COUNT per window: each one index range scan; one SUM(CASE …) per window over their union took 6–8× as long);
 * undefined where a window has no countable predicate.
 */
export async function windowsRowsNow(
  context: TableContext,
  schema: TableSchema,
  windows: readonly { start: Position | null; end: Position }[],
): Promise<number[] | undefined> {
  const keys = windowKeys(context, schema);
  const counted = windows.flatMap((window) => {
    const where = sourceWindow(context.table.cdc_strategy, keys, window);
    return where === undefined ? [] : [where];
  });
  if (counted.length < windows.length) return undefined;
  if (counted.length === 0) return [];
  const table = quotedTable(context.table);
  const sql = `SELECT ${counted.map((where) => `(SELECT COUNT(*) FROM ${table} WHERE ${where.sql})`).join(", ")}`;
  const row = await withSource(context, (connection) => queryRow(connection, { sql, params: counted.flatMap((where) => where.params) }));
  return counted.map((_, i) => Number(textOf(row?.[i]) ?? "0"));
}

/** The rows MySQL holds now in a window, counted with the chunk queries' predicate; undefined where it has none. */
export async function windowRowsNow(
  context: TableContext,
  schema: TableSchema,
  window: { start: Position | null; end: Position },
): Promise<number | undefined> {
  const where = sourceWindow(context.table.cdc_strategy, windowKeys(context, schema), window);
  return where === undefined ? undefined : mysqlCount(context, where);
}

/**
 * A table without a key MySQL holds more rows of in the run's window than were read: re-read rows could not be merged
 * (they would land twice), so its files are not loaded and the table fails with the repair.
 */
export function keylessShortfall(context: TableContext, inMysql: number, extracted: number): string {
  return (
    `${context.table.key}: MySQL holds ${inMysql} row(s) in the run's window, the extraction read ${extracted} (${inMysql - extracted} short); nothing of the window was loaded. ` +
    "Likely causes: rows committed late or out of order inside the window (a long transaction; settle_seconds shorter than it). " +
    "This table has no key to merge re-read rows on, so the window is not re-read: re-read the table " +
    `(mrsync watermark reset -p ${context.pipeline.name} -t ${context.table.key}, with its target emptied) or give it a primary_key`
  );
}

/**
 * A window read again MAX_UNCHANGED_REREADS times while MySQL's count of it stayed the same, and still short in
 * Redshift: its rows are not committing late, they do not land. Names the window and the repair.
 */
export function stuckWindowProblem(context: TableContext, window: LateWindow): string {
  const span = (p: StoredPosition | null) => (p === null ? "the beginning" : [p.timestamp, ...(p.key ?? [])].filter((v) => v !== null).join(", "));
  return (
    `${context.table.key}: the window after (${span(window.start)}) up to (${span(window.end)}) holds ${window.reread.mysql_rows} row(s) in MySQL, ` +
    `${window.late_rows} of them not in Redshift, after ${window.reread.attempts} re-read(s) with no new commit into it: these rows are not late, they do not land. ` +
    `Repair: mrsync reconcile -p ${context.pipeline.name} -t ${context.table.key} (it compares the whole table and loads what is missing); ` +
    "the window stays queued and is read again by every run"
  );
}

/** After loading: the windows whose files were loaded, each compared between MySQL and Redshift. */
export async function validateWindows(context: LoadContext, windows: readonly ExtractedWindow[]): Promise<ValidationReport> {
  const report: ValidationReport = { counts: undefined, checksums: undefined, nullPercentages: {}, windows: 0, notes: [], problems: [], late: [], failed: [] };
  for (const window of windows) {
    const schema = await loadSchema(context, window.schema_key);
    const one = await validateWindow(
      context,
      schema,
      { start: window.start === null ? null : fromStored(window.start), end: fromStored(window.end) },
      window.rows,
    );
    report.windows++;
    if (one.counts !== undefined) {
      const sum = report.counts ?? { mysql: 0, extracted: 0, redshift: 0, duplicateKeys: 0 };
      report.counts = {
        mysql: one.counts.mysql === undefined || sum.mysql === undefined ? undefined : sum.mysql + one.counts.mysql,
        extracted: sum.extracted + one.counts.extracted,
        redshift: sum.redshift + one.counts.redshift,
        duplicateKeys: Math.max(sum.duplicateKeys, one.counts.duplicateKeys),
      };
    }
    report.checksums = one.checksums ?? report.checksums;
    for (const [column, percentage] of Object.entries(one.nullPercentages))
      report.nullPercentages[column] = Math.max(report.nullPercentages[column] ?? 0, percentage);
    report.notes.push(...one.notes.filter((n) => !report.notes.includes(n)));
    report.problems.push(...one.problems);
    if (one.problems.length > 0) report.failed.push(window);
    if (one.late > 0 && one.counts?.mysql !== undefined) report.late.push({ window, mysqlRows: one.counts.mysql, loadedRows: one.counts.mysql - one.late });
  }
  if (report.problems.length > 0) throw new ValidationError(report);
  return report;
}

async function validateWindow(
  context: LoadContext,
  schema: TableSchema,
  window: { start: Position | null; end: Position },
  extracted: number,
): Promise<Omit<ValidationReport, "late" | "failed"> & { late: number }> {
  const { table } = context;
  const mode = loadMode(context, schema.primaryKey.length > 0);
  const keys = windowKeys(context, schema);
  const comparable = comparableWindow(table.cdc_strategy, keys, window);
  const target = `${quoteRedshift(context.pipeline.target.schema)}.${quoteRedshift(table.targetName)}`;
  const where = comparable?.redshift === undefined ? "" : ` WHERE ${comparable.redshift}`;
  const number = (value: unknown) => Number(value ?? 0);
  const notes: string[] = [];
  if (comparable !== undefined && !comparable.exact) {
    notes.push(
      `${table.key}: Redshift orders the key's text or bytes unlike MySQL's collation, so a wider window was counted on both sides (from the window's leading timestamp or from the beginning)`,
    );
  }

  let counts: Counts | undefined;
  if (table.validation.row_count_check && (comparable !== undefined || mode === "replace")) {
    const inMysql = comparable === undefined ? undefined : await mysqlCount(context, comparable.mysql);
    const key = schema.primaryKey.map((k) => quoteRedshift(schema.columns.find((c) => c.source === k)?.name ?? k)).join(", ");
    const [countRow] = (await context.redshift.query(`SELECT COUNT(*) FROM ${target}${where}`)).rows;
    const duplicates =
      key === ""
        ? 0
        : number(
            (await context.redshift.query(`SELECT COUNT(*) FROM (SELECT ${key} FROM ${target}${where} GROUP BY ${key} HAVING COUNT(*) > 1) d`)).rows[0]?.[0],
          );
    // A wider window holds rows of earlier windows too: only "no fewer in Redshift" can be asked of it.
    const extractedHere = comparable !== undefined && !comparable.exact ? Math.min(extracted, inMysql ?? extracted) : extracted;
    counts = { mysql: inMysql, extracted: extractedHere, redshift: number(countRow?.[0]), duplicateKeys: duplicates };
  }

  let checksums: ValidationReport["checksums"];
  // Rows updated since extraction left MySQL's window but not Redshift's: the sums differ without a loss.
  const drifted = counts !== undefined && counts.mysql !== undefined && counts.redshift !== counts.mysql;
  if (table.validation.content_checksum && comparable?.exact === true && drifted) {
    notes.push(
      `${table.key}: content checksum not compared: the window changed in MySQL since it was extracted (MySQL ${counts?.mysql ?? "?"}, Redshift ${counts?.redshift ?? "?"})`,
    );
  } else if (table.validation.content_checksum && comparable?.exact === true) {
    const sources = [...new Set([...schema.primaryKey, table.cdc_timestamp_column, ...schema.cursorKey].filter((c): c is string => c !== undefined))];
    const columns = sources.flatMap((source) => {
      const column = schema.columns.find((c) => c.source.toLowerCase() === source.toLowerCase());
      return column === undefined ? [] : [{ source: column.source, name: column.name, timestamp: column.value.kind === "timestamp" }];
    });
    const sql = `SELECT ${checksumSql(
      "mysql",
      columns.map((c) => ({ name: c.source, timestamp: c.timestamp })),
    )} FROM ${quotedTable(table)} WHERE ${comparable.mysql.sql}`;
    const mysqlSum = await withSource(
      context,
      async (connection) => textOf((await queryRow(connection, { sql, params: comparable.mysql.params }))?.[0]) ?? "0",
    );
    const redshiftSum = (await context.redshift.query(`SELECT CAST(${checksumSql("redshift", columns)} AS VARCHAR) FROM ${target}${where}`)).rows[0]?.[0];
    checksums = { mysql: mysqlSum, redshift: String(redshiftSum ?? "0") };
  } else if (table.validation.content_checksum) {
    notes.push(`${table.key}: content checksum skipped: the window cannot be bounded identically in Redshift`);
  }

  const nullPercentages: Record<string, number> = {};
  let qualityProblems: string[] = [];
  if (table.validation.enable_data_quality_checks && schema.columns.length > 0) {
    const select = schema.columns.map((c) => `COUNT(${quoteRedshift(c.name)})`).join(", ");
    const [row = []] = (await context.redshift.query(`SELECT COUNT(*), ${select} FROM ${target}${where}`)).rows;
    const total = number(row[0]);
    const nonNull = Object.fromEntries(schema.columns.map((c, i) => [c.name, number(row[i + 1])]));
    for (const [column, count] of Object.entries(nonNull)) nullPercentages[column] = total === 0 ? 0 : Number(((100 * (total - count)) / total).toFixed(2));
    qualityProblems = nullProblems(table.key, total, nonNull, table.validation.max_null_percentage);
  }

  const rereads = strategyFor(table, schema).rereadsLateWindows === true;
  const late = counts === undefined ? 0 : lateRowsOf(mode, rereads, counts);
  const checksumProblems =
    late === 0 && checksums !== undefined && checksums.mysql !== checksums.redshift
      ? [`${table.key}: content checksum of the run's window differs: MySQL ${checksums.mysql}, Redshift ${checksums.redshift}`]
      : [];
  return {
    counts,
    checksums,
    nullPercentages,
    windows: 1,
    notes,
    problems: [...(counts === undefined ? [] : countProblems(table.key, mode, counts, rereads)), ...checksumProblems, ...qualityProblems],
    late,
  };
}
