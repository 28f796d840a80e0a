/**
 * The SQL engine behind the local Data API: a real Postgres (a `postgres://` URL; the Data API's Database picks
 * the Postgres database). Values come back as Postgres' text forms (type parsers off), so nothing is rounded
 * through JS numbers before the Field encoding. A batch is one transaction, as BatchExecuteStatement is in Redshift.
 */
import pg from "pg";
import type { FieldDef } from "pg";
import { translateStatement } from "./translate.ts";

export type StatementResult = {
  hasResultSet: boolean;
  fields: Pick<FieldDef, "name" | "dataTypeID" | "dataTypeModifier">[];
  rows: (string | null)[][];
  /** Rows returned, or rows affected for DML (Redshift's ResultRows). */
  rowCount: number;
};

export type SqlStatement = { sql: string; values: string[] };

/** One statement of a batch failed: which one, and Postgres' message. */
export class StatementFailure extends Error {
  override readonly name = "StatementFailure";
  readonly index: number;
  constructor(index: number, message: string) {
    super(message);
    this.index = index;
  }
}

/** What a statement hook may run on: the statement's own session (so it joins the batch's transaction). */
export type SqlSession = { query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }> };

/** Runs one statement: the COPY executor plugs in here (COPY is not Postgres' COPY). */
export type StatementHook = (session: SqlSession, statement: SqlStatement, database: string) => Promise<StatementResult | undefined>;

/** The SQL engine behind the endpoint: a Postgres server, or embedded PGlite. */
export interface SqlEngine {
  /** `user`: the database user the statements run as (undefined: the engine's own user). */
  run(database: string, statements: readonly SqlStatement[], onPid: (pid: number) => void, user?: string): Promise<StatementResult[]>;
  cancel(database: string, pid: number): Promise<void>;
  /** Gets the database ready before its first statement (an embedded engine's start-up); optional. */
  prepare?(database: string): Promise<void>;
  close(): Promise<void>;
}

const rawText = { getTypeParser: () => (value: string) => value };

/** Postgres' serialization failure (SQLSTATE 40001) reads as Redshift's (error 1023), so callers see what Redshift says. */
function redshiftMessage(error: unknown): string {
  const message = (error as Error).message;
  if ((error as { code?: string }).code !== "40001") return message;
  return `1023 DETAIL: Serializable isolation violation on a table in the transaction (local: ${message})`;
}

/** CRC-32C's table (reflected polynomial 0x82F63B78), for the PL/pgSQL CRC32. */
const CRC32C_TABLE = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte;
  for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  return crc >>> 0;
});

/**
 * Redshift's CRC32: CRC-32C of the text's UTF-8 bytes as 8 hex digits. Postgres has no CRC function before 18: the C
 * build (local/redshift/pg-crc32, installed by scripts/install-pg-crc32.sh) where the server has it, else this
 * PL/pgSQL one — the same values, ~50× slower (reconciling a large table locally takes that much longer).
 */
export const CRC32_FUNCTIONS = {
  native: `CREATE OR REPLACE FUNCTION crc32(value text) RETURNS text AS 'mrsync_crc32', 'mrsync_crc32' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE`,
  plpgsql: `CREATE OR REPLACE FUNCTION crc32(value text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
     DECLARE
       bytes bytea := convert_to(value, 'UTF8');
       crc bigint := 4294967295;
       crc_table bigint[] := '{${CRC32C_TABLE.join(",")}}';
     BEGIN
       FOR i IN 0 .. length(bytes) - 1 LOOP
         crc := (crc >> 8) # crc_table[((crc # get_byte(bytes, i)) & 255) + 1];
       END LOOP;
       RETURN lpad(to_hex(crc # 4294967295), 8, '0');
     END $$`,
} as const;

/** Installs Redshift's CRC32 (native where it can, else PL/pgSQL); says which. */
export async function installCrc32(query: (sql: string) => Promise<unknown>): Promise<keyof typeof CRC32_FUNCTIONS> {
  try {
    await query(CRC32_FUNCTIONS.native);
    return "native";
  } catch {
    // The library is not installed on this server (or the engine is PGlite): the same function in PL/pgSQL.
    await query(CRC32_FUNCTIONS.plpgsql);
    return "plpgsql";
  }
}

/** Redshift functions Postgres lacks, installed once per database the endpoint serves (and CRC32: installCrc32). */
export const REDSHIFT_FUNCTIONS = [
  `CREATE OR REPLACE FUNCTION mrsync_unsupported(what text) RETURNS bigint LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
     BEGIN RAISE EXCEPTION 'the local warehouse does not implement %', what; END $$`,
  // Base 16 only (all this project asks). Inlined by Postgres only while `value` appears once (a parameter used twice
  // with a costly argument such as CRC32(…) is not inlined: ~1.3 µs more per row) and every call in it is immutable
  // (`text || integer` is not; `base::text` is); PARALLEL SAFE, or every query
  // calling it stays off Postgres' parallel workers.
  `CREATE OR REPLACE FUNCTION strtol(value text, base integer) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
     SELECT CASE WHEN base = 16 THEN ('x' || lpad(value, 16, '0'))::bit(64)::bigint ELSE mrsync_unsupported('STRTOL base ' || base::text) END $$`,
  // SUPER is JSONB here; JSON_PARSE makes a SUPER value of JSON text, as in Redshift.
  `CREATE OR REPLACE FUNCTION json_parse(value text) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT value::jsonb $$`,
  // TO_HEX of a VARBYTE (Postgres' to_hex takes integers only).
  `CREATE OR REPLACE FUNCTION to_hex(value bytea) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT encode(value, 'hex') $$`,
  // Redshift's own column catalogue (SVV_COLUMNS), naming VARBYTE and SUPER as Redshift does; outside public, so it
  // is no table of the user's (translate.ts points SVV_COLUMNS here).
  `CREATE SCHEMA IF NOT EXISTS mrsync_catalog`,
  `CREATE OR REPLACE VIEW mrsync_catalog.svv_columns AS SELECT table_catalog, table_schema, table_name, column_name, ordinal_position,
     column_default, is_nullable,
     CASE data_type WHEN 'bytea' THEN 'binary varying' WHEN 'jsonb' THEN 'super' ELSE data_type END::text AS data_type,
     character_maximum_length, numeric_precision, numeric_scale
     FROM information_schema.columns`,
  `GRANT USAGE ON SCHEMA mrsync_catalog TO PUBLIC`,
  `GRANT SELECT ON mrsync_catalog.svv_columns TO PUBLIC`,
];

export class PostgresBackend implements SqlEngine {
  private readonly url: URL;
  private readonly pools = new Map<string, Promise<pg.Pool>>();
  private readonly hook: StatementHook | undefined;

  constructor(url: string, hook?: StatementHook) {
    this.url = new URL(url);
    this.hook = hook;
  }

  private pool(database: string): Promise<pg.Pool> {
    let pool = this.pools.get(database);
    if (pool === undefined) {
      const url = new URL(this.url);
      url.pathname = `/${encodeURIComponent(database)}`;
      const created = new pg.Pool({
        connectionString: url.toString(),
        max: 8,
        // Redshift has no JIT; Postgres' JIT compiles every reconcile query for seconds (costs look high to it).
        options: "-c jit=off",
      });
      // An idle client's error (server restart) must not crash the stand-in.
      created.on("error", () => undefined);
      pool = (async () => {
        for (const sql of REDSHIFT_FUNCTIONS) await created.query(sql);
        await installCrc32((sql) => created.query(sql));
        // Redshift's default, which Postgres 15 dropped: every user may create tables in schema public.
        await created.query("GRANT CREATE ON SCHEMA public TO PUBLIC");
        return created;
      })();
      // A database that does not exist yet must not stay broken once it does.
      pool.catch(() => this.pools.delete(database));
      this.pools.set(database, pool);
    }
    return pool;
  }

  /**
   * Runs the statements — several as one transaction — reporting the Postgres backend pid as soon as it is known
   * (so a CancelStatement can reach it). Rejects with StatementFailure naming the failing statement.
   */
  async run(database: string, statements: readonly SqlStatement[], onPid: (pid: number) => void, user?: string): Promise<StatementResult[]> {
    let client: pg.PoolClient;
    try {
      client = await (await this.pool(database)).connect();
    } catch (error) {
      throw new StatementFailure(0, `could not connect to database "${database}": ${(error as Error).message}`);
    }
    onPid((client as unknown as { processID: number }).processID);
    const batch = statements.length > 1;
    let broken = false;
    try {
      if (user !== undefined) {
        try {
          await this.becomeUser(client, user);
        } catch (error) {
          throw new StatementFailure(0, (error as Error).message);
        }
      }
      // Redshift runs every transaction serializable: concurrent ones that read what the other writes conflict.
      if (batch) await client.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      const results: StatementResult[] = [];
      for (const [index, statement] of statements.entries()) {
        try {
          results.push(await this.runOne(client, statement, database));
        } catch (error) {
          if (batch) await client.query("ROLLBACK").catch(() => (broken = true));
          throw new StatementFailure(index, redshiftMessage(error));
        }
      }
      if (batch) {
        try {
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK").catch(() => (broken = true));
          throw new StatementFailure(statements.length - 1, redshiftMessage(error));
        }
      }
      return results;
    } finally {
      if (user !== undefined) await client.query("RESET SESSION AUTHORIZATION").catch(() => (broken = true));
      client.release(broken);
    }
  }

  /**
   * Runs the session as `user`, created on first use as Redshift creates an IAM identity's user at its first sign-in:
   * it owns what it creates and reaches anything else only through grants.
   */
  private async becomeUser(client: pg.PoolClient, user: string): Promise<void> {
    const quoted = `"${user.replace(/"/g, '""')}"`;
    const { rows } = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [user]);
    if (rows.length === 0) {
      // 42710/23505: another session created it first.
      await client.query(`CREATE ROLE ${quoted} LOGIN`).catch((created: unknown) => {
        if (!["42710", "23505"].includes((created as { code?: string }).code ?? "")) throw created;
      });
    }
    await client.query(`SET SESSION AUTHORIZATION ${quoted}`);
  }

  private async runOne(client: pg.PoolClient, statement: SqlStatement, database: string): Promise<StatementResult> {
    const hooked = await this.hook?.(client, statement, database);
    if (hooked !== undefined) return hooked;
    const result = await client.query({ text: translateStatement(statement.sql), values: statement.values, rowMode: "array", types: rawText });
    const last = Array.isArray(result) ? (result.at(-1) as pg.QueryArrayResult) : result;
    const hasResultSet = last.fields.length > 0;
    return {
      hasResultSet,
      fields: last.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID, dataTypeModifier: f.dataTypeModifier })),
      rows: last.rows as (string | null)[][],
      rowCount: hasResultSet ? last.rows.length : (last.rowCount ?? 0),
    };
  }

  /** Cancels whatever the backend with this pid is running (pg_cancel_backend). */
  async cancel(database: string, pid: number): Promise<void> {
    await (await this.pool(database)).query("SELECT pg_cancel_backend($1)", [pid]);
  }

  async close(): Promise<void> {
    const pools = await Promise.allSettled([...this.pools.values()]);
    await Promise.all(pools.flatMap((p) => (p.status === "fulfilled" ? [p.value.end()] : [])));
    this.pools.clear();
  }
}
