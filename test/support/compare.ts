/**
 * Compares a synced table cell by cell: every value as MySQL itself renders it against the same value as the
 * warehouse (Postgres behind the local Data API) renders it — exact text for integers, decimals, strings and
 * binaries (hex), microseconds since the epoch for timestamps (TIMESTAMPDIFF on the MySQL side), zero dates as NULL.
 */
import type { Connection } from "mysql2/promise";
import type { RedshiftData } from "#adapters/redshift-data.ts";
import { quoteIdentifier } from "#domain/cdc/types.ts";
import type { TableColumn, TableSchema } from "#domain/table-schema.ts";

function renderings(column: TableColumn): { mysql: string; postgres: string; float?: "float32" | "float64" } {
  const m = quoteIdentifier(column.source);
  const p = `"${column.name}"`;
  const notZero = `${m} IS NOT NULL AND YEAR(${m}) <> 0 AND MONTH(${m}) <> 0 AND DAYOFMONTH(${m}) <> 0`;
  switch (column.value.kind) {
    case "int32":
    case "int64":
    case "decimal":
      return { mysql: `CAST(${m} + 0 AS CHAR)`, postgres: `${p}::text` };
    case "boolean":
      return { mysql: `CAST(${m} + 0 AS CHAR)`, postgres: `${p}::int::text` };
    case "float":
      return { mysql: `CAST(CAST(${m} AS DOUBLE) AS CHAR)`, postgres: `${p}::text`, float: "float32" };
    case "double":
      return { mysql: `CAST(${m} AS CHAR)`, postgres: `${p}::text`, float: "float64" };
    case "date":
      return { mysql: `IF(${notZero}, DATE_FORMAT(${m}, '%Y-%m-%d'), NULL)`, postgres: `to_char(${p}, 'YYYY-MM-DD')` };
    case "timestamp":
      return {
        mysql: `IF(${notZero}, CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${m}) AS CHAR), NULL)`,
        postgres: `(extract(epoch from ${p}) * 1000000)::numeric(30,0)::text`,
      };
    case "string":
      return { mysql: column.sourceType.startsWith("decimal") ? `CAST(${m} AS CHAR)` : m, postgres: p };
    case "binary":
      return { mysql: column.value.wkb === true ? `HEX(ST_AsBinary(${m}))` : `HEX(${m})`, postgres: `upper(encode(${p}, 'hex'))` };
  }
}

/**
 * The cells that differ (at most `limit`), as "row N column: MySQL … vs Redshift …". Rows are matched by their
 * primary key's rendered cells, sorted in JS on both sides (MySQL collations and Postgres order text differently);
 * a different row count is reported too.
 */
export async function tableDifferences(
  mysql: Connection,
  sourceTable: string,
  redshift: RedshiftData,
  targetTable: string,
  schema: TableSchema,
  limit = 20,
): Promise<string[]> {
  const plan = schema.columns.map((column) => ({ column, ...renderings(column) }));
  const keys = schema.primaryKey.length > 0 ? schema.primaryKey : [schema.columns[0]?.source ?? ""];
  const targetKeys = keys.map((k) => `t."${schema.columns.find((c) => c.source === k)?.name ?? k}"`);
  const [expected] = await mysql.query({
    sql: `SELECT ${plan.map((p) => p.mysql).join(", ")} FROM ${sourceTable} ORDER BY ${keys.map(quoteIdentifier).join(", ")}`,
    rowsAsArray: true,
  });
  const actual = await redshift.query(`SELECT ${plan.map((p) => p.postgres).join(", ")} FROM ${targetTable} t ORDER BY ${targetKeys.join(", ")}`);
  const keyIndexes = keys.map((k) => schema.columns.findIndex((c) => c.source === k));
  const byKey = (a: readonly unknown[], b: readonly unknown[]) => {
    const x = JSON.stringify(keyIndexes.map((i) => a[i] ?? null));
    const y = JSON.stringify(keyIndexes.map((i) => b[i] ?? null));
    return x < y ? -1 : x > y ? 1 : 0;
  };
  const rows = [...(expected as (string | null)[][])].sort(byKey);
  actual.rows.sort(byKey);
  const differences: string[] = [];
  if (actual.rows.length !== rows.length) differences.push(`row count: MySQL ${rows.length} vs Redshift ${actual.rows.length}`);
  rows.forEach((row, r) => {
    plan.forEach((p, c) => {
      const want = row[c] ?? null;
      const got = actual.rows[r]?.[c] ?? null;
      const same =
        want === null || got === null
          ? want === got
          : p.float === "float32"
            ? Math.fround(Number(want)) === Math.fround(Number(got))
            : p.float === "float64"
              ? Number(want) === Number(got)
              : want === got;
      if (!same) differences.push(`row ${r} ${p.column.name}: MySQL ${JSON.stringify(want)} vs Redshift ${JSON.stringify(got)}`);
    });
  });
  return differences.slice(0, limit);
}
