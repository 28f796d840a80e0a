/**
 * The embedded engine: PGlite (Postgres in WebAssembly, in this process), one instance per Data API Database, in
 * memory or under a folder. It has a single session, so statements run one at a time (a batch as one
 * transaction); values come back as Postgres' text forms, as from the server engine.
 */
import path from "node:path";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { installCrc32, REDSHIFT_FUNCTIONS, StatementFailure, type SqlEngine, type SqlStatement, type StatementHook, type StatementResult } from "./postgres.ts";
import { TYPE_OIDS } from "./fields.ts";
import { translateStatement } from "./translate.ts";

/** Every type the endpoint encodes comes back as text (bytea as \\x…), like the server engine with parsers off. */
const RAW_TEXT = Object.fromEntries(TYPE_OIDS.map((oid) => [oid, (value: string) => value]));

type Queryable = Pick<PGlite, "query" | "exec"> | Transaction;

/** Parsers are off for every type the endpoint encodes; anything else PGlite parsed is turned back into text. */
function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

export class PgliteEngine implements SqlEngine {
  private readonly dataDir: string | undefined;
  private readonly hook: StatementHook | undefined;
  private readonly instances = new Map<string, Promise<PGlite>>();
  /** One statement at a time per instance: PGlite has a single session, which a batch's transaction owns. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(dataDir: string | undefined, hook?: StatementHook) {
    this.dataDir = dataDir;
    this.hook = hook;
  }

  private instance(database: string): Promise<PGlite> {
    let instance = this.instances.get(database);
    if (instance === undefined) {
      instance = (async () => {
        const db = await PGlite.create(this.dataDir === undefined ? {} : { dataDir: path.join(this.dataDir, database) });
        for (const sql of REDSHIFT_FUNCTIONS) await db.query(sql);
        await installCrc32((sql) => db.query(sql));
        return db;
      })();
      this.instances.set(database, instance);
    }
    return instance;
  }

  /** PGlite's first start of a database (initdb in WebAssembly, ~1.5 s) need not fall on the first statement. */
  async prepare(database: string): Promise<void> {
    await this.instance(database);
  }

  async run(database: string, statements: readonly SqlStatement[]): Promise<StatementResult[]> {
    const db = await this.instance(database);
    const all = async (session: Queryable) => {
      const results: StatementResult[] = [];
      for (const [index, statement] of statements.entries()) {
        try {
          results.push(await this.runOne(session, statement, database));
        } catch (error) {
          throw new StatementFailure(index, (error as Error).message);
        }
      }
      return results;
    };
    const previous = this.queues.get(database) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(() => (statements.length > 1 ? db.transaction(all) : all(db)));
    this.queues.set(database, current);
    return current;
  }

  private async runOne(session: Queryable, statement: SqlStatement, database: string): Promise<StatementResult> {
    const hooked = await this.hook?.(session, statement, database);
    if (hooked !== undefined) return hooked;
    const sql = translateStatement(statement.sql);
    const options = { rowMode: "array" as const, parsers: RAW_TEXT };
    const result = statement.values.length > 0 ? await session.query<unknown[]>(sql, statement.values, options) : (await session.exec(sql, options)).at(-1);
    const fields = result?.fields ?? [];
    const rows = (result?.rows ?? []) as unknown[][];
    return {
      hasResultSet: fields.length > 0,
      fields: fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID, dataTypeModifier: -1 })),
      rows: rows.map((row) => row.map(text)),
      rowCount: fields.length > 0 ? rows.length : (result?.affectedRows ?? 0),
    };
  }

  /** A single-session engine cannot interrupt a statement: the store marks it ABORTED and drops its result. */
  async cancel(): Promise<void> {
    // Nothing to interrupt.
  }

  async close(): Promise<void> {
    const instances = await Promise.allSettled([...this.instances.values()]);
    await Promise.all(instances.flatMap((i) => (i.status === "fulfilled" ? [i.value.close()] : [])));
    this.instances.clear();
  }
}
