/**
 * Pure: keyset pagination on a unique key of any shape (docs/design.md §6). A cursor is a tuple of the order columns'
 * values; "after", "from" and "up to" a tuple are predicates MySQL evaluates with its own comparison (collations,
 * trailing spaces, unsigned BIGINT, DECIMAL), written so that its range optimizer scans the key's index.
 *
 * Values travel as text: MySQL's own text form for numbers, dates and strings; binary values as "0x" + hex. Each is
 * bound back with the type its column compares as — an integer as a BigInt literal (a quoted id compares as DOUBLE
 * past 2^53), a DECIMAL through CAST (a string compares with a DECIMAL as DOUBLE), binary as bytes.
 */
import type { TableColumn } from "#domain/table-schema.ts";
import { compareTimestamps } from "./timestamps.ts";

/** How a key column compares and binds. */
export type KeyKind = "integer" | "decimal" | "temporal" | "string" | "binary";

export type KeyColumn = {
  /** Source name (quoted in MySQL SQL). */
  source: string;
  /** Redshift name (quoted in Redshift SQL). */
  name: string;
  kind: KeyKind;
  /** DECIMAL(p,s) of a decimal column, for the CAST that binds it. */
  decimal?: { precision: number; scale: number };
};

export type SqlFragment = { sql: string; params: unknown[] };

/** The key kind of a column, or why it cannot order a keyset (its text form does not compare as the column does). */
export function keyKindOf(sourceType: string): KeyKind | { problem: string } {
  const type = sourceType.toLowerCase();
  if (/^(tinyint|smallint|mediumint|int|integer|bigint|year)\b/.test(type)) return "integer";
  if (/^(decimal|numeric)\b/.test(type)) return "decimal";
  if (/^(date|datetime|timestamp|time)\b/.test(type)) return "temporal";
  if (/^(char|varchar|tinytext|text|mediumtext|longtext)\b/.test(type)) return "string";
  if (/^(binary|varbinary|tinyblob|blob|mediumblob|longblob)\b/.test(type)) return "binary";
  if (/^(enum|set)\b/.test(type)) return { problem: `${type} sorts by member number but compares as text` };
  if (/^(float|double|real)\b/.test(type)) return { problem: `${type} is approximate` };
  return { problem: `${type} cannot order a keyset` };
}

export function keyColumnOf(column: TableColumn): KeyColumn | { problem: string } {
  const kind = keyKindOf(column.sourceType);
  if (typeof kind !== "string") return kind;
  if (kind !== "decimal") return { source: column.source, name: column.name, kind };
  const match = /\((\d+)(?:,(\d+))?\)/.exec(column.sourceType);
  return { source: column.source, name: column.name, kind, decimal: { precision: Number(match?.[1] ?? 10), scale: Number(match?.[2] ?? 0) } };
}

/** A value of a streamed row (raw bytes, or a string) in the cursor's text form. */
export function keyText(column: KeyColumn, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (column.kind === "binary") {
    const bytes = Buffer.isBuffer(value) ? value : typeof value === "string" ? Buffer.from(value, "binary") : undefined;
    if (bytes === undefined) throw new Error(`key column ${column.source}: binary value of unexpected type ${typeof value}`);
    return `0x${bytes.toString("hex")}`;
  }
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "string" || typeof value === "number" || typeof value === "bigint") return value.toString();
  throw new Error(`key column ${column.source}: value of unexpected type ${typeof value}`);
}

/** A cursor value ready to bind in MySQL (checked: a value that is not of the column's kind is refused, not coerced). */
export function bindValue(column: KeyColumn, text: string): unknown {
  switch (column.kind) {
    case "integer":
      if (!/^-?\d+$/.test(text)) throw new Error(`cursor value ${JSON.stringify(text)} of ${column.source} is not an integer`);
      return BigInt(text);
    case "decimal":
      if (!/^-?\d+(\.\d+)?$/.test(text)) throw new Error(`cursor value ${JSON.stringify(text)} of ${column.source} is not a decimal`);
      return text;
    case "binary":
      if (!/^0x([0-9a-f]{2})*$/i.test(text)) throw new Error(`cursor value ${JSON.stringify(text)} of ${column.source} is not 0x-prefixed hex`);
      return Buffer.from(text.slice(2), "hex");
    case "temporal":
    case "string":
      return text;
  }
}

const quoteMysql = (name: string) => `\`${name.replace(/`/g, "``")}\``;
const quoteRedshiftName = (name: string) => `"${name.replace(/"/g, '""')}"`;
const sqlLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Whether Redshift orders the column's values as MySQL does (strings follow MySQL collations; Redshift does not). */
export const orderSafeInRedshift = (column: KeyColumn): boolean => column.kind === "integer" || column.kind === "decimal" || column.kind === "temporal";

type Renderer = { column(c: KeyColumn): string; value(c: KeyColumn, text: string): SqlFragment };

const MYSQL: Renderer = {
  column: (c) => quoteMysql(c.source),
  value: (c, text) => ({
    sql: c.kind === "decimal" ? `CAST(? AS DECIMAL(${Math.min(c.decimal?.precision ?? 65, 65)},${Math.min(c.decimal?.scale ?? 30, 30)}))` : "?",
    params: [bindValue(c, text)],
  }),
};

const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;

/**
 * An integer Redshift reads as written: as itself within BIGINT, as a DECIMAL(20,0) past it (an unsigned BIGINT key
 * past 2^63 lands in DECIMAL(20,0); an unadorned literal that long is no BIGINT Redshift can read).
 */
function redshiftInteger(text: string): string {
  const value = BigInt(text);
  return value < BIGINT_MIN || value > BIGINT_MAX ? `CAST(${sqlLiteral(text)} AS DECIMAL(20,0))` : text;
}

const REDSHIFT: Renderer = {
  column: (c) => quoteRedshiftName(c.name),
  value(c, text) {
    if (!orderSafeInRedshift(c)) throw new Error(`${c.name}: ${c.kind} values do not order in Redshift as in MySQL`);
    bindValue(c, text);
    return { sql: c.kind === "temporal" ? sqlLiteral(text) : c.kind === "integer" ? redshiftInteger(text) : text, params: [] };
  },
};

export type Dialect = "mysql" | "redshift";
const renderer = (dialect: Dialect) => (dialect === "mysql" ? MYSQL : REDSHIFT);

/**
 * A tuple comparison on the leading columns of `columns` (as many as `values` has), expanded so that a range
 * optimizer sees the leading column's bound: `c1 >= v1 AND (c1 > v1 OR (c1 = v1 AND (c2 > v2 …)))`.
 * `after` is strict, `from` inclusive of the tuple, `upTo` inclusive.
 */
export function tupleBound(dialect: Dialect, bound: "after" | "from" | "upTo", columns: readonly KeyColumn[], values: readonly string[]): SqlFragment {
  const render = renderer(dialect);
  const n = Math.min(columns.length, values.length);
  if (n === 0) throw new Error("a tuple bound needs at least one value");
  const strict = bound === "upTo" ? "<" : ">";
  const last = bound === "after" ? ">" : bound === "from" ? ">=" : "<=";
  const params: unknown[] = [];
  const build = (i: number): string => {
    const column = columns[i] as KeyColumn;
    const name = render.column(column);
    const value = render.value(column, values[i] as string);
    if (i === n - 1) {
      params.push(...value.params);
      return `${name} ${last} ${value.sql}`;
    }
    params.push(...value.params, ...value.params);
    const rest = build(i + 1);
    return `(${name} ${strict} ${value.sql} OR (${name} = ${value.sql} AND ${rest}))`;
  };
  const first = columns[0] as KeyColumn;
  const lead = render.value(first, values[0] as string);
  const outer = `${render.column(first)} ${bound === "upTo" ? "<=" : ">="} ${lead.sql}`;
  if (n === 1) return { sql: build(0), params };
  const inner = build(0);
  return { sql: `${outer} AND ${inner}`, params: [...lead.params, ...params] };
}

export const orderBy = (columns: readonly KeyColumn[], direction = ""): string =>
  columns.map((c) => `${quoteMysql(c.source)}${direction === "" ? "" : ` ${direction}`}`).join(", ");

/** One value's order in JS where it is certain (integers; DATE/DATETIME text), else undefined. */
function compareValue(column: KeyColumn, x: string, y: string): number | undefined {
  if (x === y) return 0;
  if (column.kind === "integer") return BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0;
  // DATE/DATETIME text in one normal form orders as time; TIME (negative, or past 24 h) does not.
  if (column.kind === "temporal" && /^\d{4}-/.test(x) && /^\d{4}-/.test(y)) return compareTimestamps(x, y);
  return undefined;
}

/** Tuple order in JS, only where it is certain; undefined = ask MySQL (collations decide string order). */
export function compareKnown(columns: readonly KeyColumn[], a: readonly string[], b: readonly string[]): number | undefined {
  for (let i = 0; i < Math.min(columns.length, a.length, b.length); i++) {
    const order = compareValue(columns[i] as KeyColumn, a[i] as string, b[i] as string);
    if (order !== 0) return order;
  }
  return a.length === b.length ? 0 : undefined;
}
