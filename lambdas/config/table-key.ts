/**
 * Pure: a table's key in a pipeline file, `schema.table`, for every name MySQL allows. A name of letters, digits, `_`
 * and `$` (any letter, accented or not) is written as it is; any other name — a space, a hyphen, a dot, a backtick —
 * is quoted with backticks as in MySQL itself, a backtick inside doubled:
 *
 *     settlement.settle_orders       shop.`Order Items`       `my-db`.`v1.2 orders`       shop.`we``ird`
 *
 * In YAML such a key is quoted too (it starts with a backtick, or holds a space): "shop.`Order Items`".
 */

/** MySQL's longest identifier (characters). */
export const MYSQL_NAME_MAX = 64;

/** A name written without backticks: letters (any script), digits, `_` and `$`. */
const PLAIN = /^[\p{L}\p{N}_$]+$/u;

export type TableName = { schema: string; table: string };

/** Characters as MySQL counts them in utf8mb4: code points. */
export function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    count++;
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) i++;
  }
  return count;
}

/** What is wrong with a MySQL name (a schema, table or column), or undefined. */
export function mysqlNameProblem(name: string): string | undefined {
  if (name === "") return "an empty name";
  if (codePoints(name) > MYSQL_NAME_MAX) return `longer than ${MYSQL_NAME_MAX} characters`;
  if (name.endsWith(" ")) return "ends with a space, which MySQL does not allow in a name";
  if (name.includes("\0")) return "holds a NUL character";
  return undefined;
}

/** Reads one part at `from`: quoted (backticks) or plain; returns the name and where it ended. */
function part(key: string, from: number): { name: string; end: number } | { problem: string } {
  if (key[from] !== "`") {
    let end = from;
    while (end < key.length && key[end] !== ".") end++;
    const name = key.slice(from, end);
    if (name.includes("`"))
      return { problem: `a backtick inside ${JSON.stringify(name)}: quote the whole name, doubling the backtick (\`${name.replace(/`/g, "``")}\`)` };
    if (name !== "" && !PLAIN.test(name)) {
      return { problem: `${JSON.stringify(name)} holds characters a name must be quoted for: write it in backticks, as in MySQL (\`${name}\`)` };
    }
    return { name, end };
  }
  let name = "";
  for (let i = from + 1; i < key.length; i++) {
    if (key[i] !== "`") {
      name += key.charAt(i);
      continue;
    }
    if (key[i + 1] === "`") {
      name += "`";
      i++;
      continue;
    }
    return { name, end: i + 1 };
  }
  return { problem: `the backtick opened at character ${from + 1} is not closed (a backtick inside a name is doubled: \`\`)` };
}

/** The schema and table a key names, or what is wrong with it. */
export function parseTableKey(key: string): TableName | { problem: string } {
  const schema = part(key, 0);
  if ("problem" in schema) return schema;
  if (key[schema.end] !== ".") {
    if (schema.end >= key.length) return { problem: 'no dot between schema and table: write "schema.table" (e.g. settlement.settle_orders)' };
    return { problem: `unexpected ${JSON.stringify(key.slice(schema.end))} after the schema name: write "schema.table", a name with a dot in backticks` };
  }
  const table = part(key, schema.end + 1);
  if ("problem" in table) return table;
  if (table.end !== key.length) {
    return { problem: `unexpected ${JSON.stringify(key.slice(table.end))} after the table name: a name holding a dot is written in backticks (shop.\`v1.2\`)` };
  }
  for (const [what, name] of [
    ["schema", schema.name],
    ["table", table.name],
  ] as const) {
    const problem = mysqlNameProblem(name);
    if (problem !== undefined) return { problem: `the ${what} name ${JSON.stringify(name)}: ${problem}` };
  }
  return { schema: schema.name, table: table.name };
}

/** A key of plain names only (letters, digits, `_`, `$`): S3 keys spell it as it is (s3-layout.ts tablePath). */
export function isPlainTableKey(key: string): boolean {
  return /^[A-Za-z0-9_$]+\.[A-Za-z0-9_$]+$/.test(key);
}
