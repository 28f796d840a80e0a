/**
 * Validation after a load (DESIGN.md §8 and the table's `validation` settings): the run's window counted in MySQL
 * and in Redshift, duplicate keys in Redshift, and the share of NULLs per column. Problems fail the table with the
 * numbers (ValidationError); the report is returned either way for the run summary and metrics.
 */
import { queryRow } from "#adapters/mysql.ts";
import { quotedTable, textOf, type Position } from "#domain/cdc/types.ts";
import { quoteRedshift } from "#domain/redshift-ddl.ts";
import { checksumSql, countProblems, nullProblems, windowPredicate, type Counts } from "#domain/validation.ts";
import { loadMode, type LoadContext } from "./load.ts";
import { loadSchema } from "./sync-context.ts";

export type ValidationRequest = { schemaKey: string; start: Position; ceiling: Position; extracted: number };
export type ValidationReport = {
  counts: Counts | undefined;
  /** MySQL's and Redshift's checksums of the window's key and cursor columns (content_checksum: true). */
  checksums: { mysql: string; redshift: string } | undefined;
  nullPercentages: Record<string, number>;
  problems: string[];
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

export async function validateRun(context: LoadContext, request: ValidationRequest): Promise<ValidationReport> {
  const { table } = context;
  const schema = await loadSchema(context, request.schemaKey);
  const nameOf = (source: string | undefined) => (source === undefined ? undefined : schema.columns.find((c) => c.source.toLowerCase() === source.toLowerCase())?.name);
  const mode = loadMode(context, schema.primaryKey.length > 0);
  const sourceWindow = windowPredicate("mysql", table.cdc_strategy, { timestamp: table.cdc_timestamp_column, id: table.cdc_id_column }, request.start, request.ceiling);
  const targetWindow = windowPredicate("redshift", table.cdc_strategy, { timestamp: nameOf(table.cdc_timestamp_column), id: nameOf(table.cdc_id_column) }, request.start, request.ceiling);
  const target = `${quoteRedshift(context.pipeline.target.schema)}.${quoteRedshift(table.targetName)}`;
  const where = targetWindow === undefined ? "" : ` WHERE ${targetWindow}`;
  const number = (value: unknown) => Number(value ?? 0);

  let counts: Counts | undefined;
  if (table.validation.row_count_check && (targetWindow !== undefined || mode === "replace")) {
    let mysqlCount: number | undefined;
    if (sourceWindow !== undefined) {
      const connection = await context.connect();
      try {
        mysqlCount = number(textOf((await queryRow(connection, { sql: `SELECT COUNT(*) FROM ${quotedTable(table)} WHERE ${sourceWindow}`, params: [] }))?.[0]));
      } finally {
        await connection.end();
      }
    }
    const key = schema.primaryKey.map((k) => quoteRedshift(nameOf(k) ?? k)).join(", ");
    const [countRow] = (await context.redshift.query(`SELECT COUNT(*) FROM ${target}${where}`)).rows;
    const duplicates =
      key === "" ? 0 : number((await context.redshift.query(`SELECT COUNT(*) FROM (SELECT ${key} FROM ${target}${where} GROUP BY ${key} HAVING COUNT(*) > 1) d`)).rows[0]?.[0]);
    counts = { mysql: mysqlCount, extracted: request.extracted, redshift: number(countRow?.[0]), duplicateKeys: duplicates };
  }

  let checksums: ValidationReport["checksums"];
  if (table.validation.content_checksum && sourceWindow !== undefined && targetWindow !== undefined) {
    const sources = [...new Set([...schema.primaryKey, table.cdc_timestamp_column, table.cdc_id_column].filter((c): c is string => c !== undefined))];
    const columns = sources.flatMap((source) => {
      const column = schema.columns.find((c) => c.source.toLowerCase() === source.toLowerCase());
      return column === undefined ? [] : [{ source: column.source, name: column.name, timestamp: column.value.kind === "timestamp" }];
    });
    const connection = await context.connect();
    let mysqlSum: string;
    try {
      const sql = `SELECT ${checksumSql("mysql", columns.map((c) => ({ name: c.source, timestamp: c.timestamp })))} FROM ${quotedTable(table)} WHERE ${sourceWindow}`;
      mysqlSum = textOf((await queryRow(connection, { sql, params: [] }))?.[0]) ?? "0";
    } finally {
      await connection.end();
    }
    const redshiftSum = (await context.redshift.query(`SELECT CAST(${checksumSql("redshift", columns)} AS VARCHAR) FROM ${target}${where}`)).rows[0]?.[0];
    checksums = { mysql: mysqlSum, redshift: String(redshiftSum ?? "0") };
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

  const checksumProblems =
    checksums !== undefined && checksums.mysql !== checksums.redshift
      ? [`${table.key}: content checksum of the run's window differs: MySQL ${checksums.mysql}, Redshift ${checksums.redshift}`]
      : [];
  const report: ValidationReport = {
    counts,
    checksums,
    nullPercentages,
    problems: [...(counts === undefined ? [] : countProblems(table.key, mode, counts)), ...checksumProblems, ...qualityProblems],
  };
  if (report.problems.length > 0) throw new ValidationError(report);
  return report;
}
