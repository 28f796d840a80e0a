/**
 * What Redshift refuses and Postgres would let pass, enforced before a statement reaches Postgres (a stand-in as strict
 * as Redshift): `ALTER TABLE … ALTER COLUMN … TYPE` on a column of a primary key or unique constraint (Redshift
 * Developer Guide, ALTER TABLE: such a column cannot be altered).
 */
import type { SqlSession, SqlStatement, StatementHook, StatementResult } from "./postgres.ts";

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
const ALTER_TYPE = new RegExp(String.raw`^\s*ALTER\s+TABLE\s+(${IDENT}(?:\s*\.\s*${IDENT})?)\s+ALTER\s+COLUMN\s+(${IDENT})\s+TYPE\b`, "i");

const unquote = (name: string) => (name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase());

/** Redshift refuses to change the type of a key column. */
export class RedshiftRuleError extends Error {
  override readonly name = "RedshiftRuleError";
}

export function redshiftRules(): StatementHook {
  return async (session: SqlSession, statement: SqlStatement): Promise<StatementResult | undefined> => {
    const alter = ALTER_TYPE.exec(statement.sql);
    if (alter === null) return undefined;
    const [, table = "", column = ""] = alter;
    const { rows } = await session.query(
      `SELECT c.contype FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
        WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u') AND a.attname = $2`,
      [table, unquote(column)],
    );
    if (rows.length > 0) {
      throw new RedshiftRuleError(
        `ALTER TABLE ALTER COLUMN TYPE cannot alter column "${unquote(column)}": it is part of a ${rows[0]?.contype === "p" ? "primary key" : "unique"} constraint`,
      );
    }
    return undefined;
  };
}

/** Hooks in order: the first that answers a statement runs it. */
export function chainHooks(...hooks: (StatementHook | undefined)[]): StatementHook {
  return async (session, statement, database) => {
    for (const hook of hooks) {
      const result = await hook?.(session, statement, database);
      if (result !== undefined) return result;
    }
    return undefined;
  };
}
