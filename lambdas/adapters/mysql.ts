/**
 * The one module that talks to MySQL/MariaDB (mysql2). Sessions read exact values: UTC, DATETIME/DATE/TIME as
 * text, DECIMAL and BIGINT as strings, JSON as text; streamed rows come as arrays of raw bytes, with backpressure.
 */
import type { Connection as CallbackConnection } from "mysql2";
import mysql, { type Connection, type FieldPacket, type RowDataPacket } from "mysql2/promise";
import type { SourceConnection } from "#config/schema.ts";
import type { SourceClock } from "#domain/cdc/settle.ts";
import type { SourceColumn } from "#domain/table-schema.ts";
import { textOf, type SqlQuery } from "#domain/cdc/types.ts";
import type { DbCredentials } from "./secrets.ts";

/** INFORMATION_SCHEMA is read at most once an hour per table per container (not per chunk). */
export const SCHEMA_CACHE_SECONDS = 3600;

export class SourceTableError extends Error {
  override readonly name = "SourceTableError";
}

/**
 * MySQL could not be reached or dropped the connection (failover, restart, network, too many connections): a
 * transient condition the state machine retries by this name. Anything else (SQL errors, access denied) is not.
 */
export class SourceUnavailableError extends Error {
  override readonly name = "SourceUnavailableError";
}

/**
 * Transient conditions, classified here once: the network and the server going away (failover, restart, KILL of the
 * connection or of its query), contention (lock wait timeout, deadlock), a failover's new read-only state.
 */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
  "ER_LOCK_DEADLOCK",
  "ER_LOCK_WAIT_TIMEOUT",
  "ER_QUERY_INTERRUPTED",
  "ER_CONNECTION_KILLED",
  "ER_OPTION_PREVENTS_STATEMENT",
]);
/** The same by server error number (mysql2 names a few MariaDB-only ones by number only). */
const UNAVAILABLE_ERRNOS = new Set([1040, 1053, 1205, 1213, 1290, 1317, 1927, 2006, 2013]);

/** How long a streamed read may go without a row (outside backpressure) before the connection counts as dead. */
export const READ_STALL_SECONDS = 60;

/** The error as SourceUnavailableError when it is one of the transient kinds (the original kept as its cause). */
export function classifySourceError(error: Error, host: string): Error {
  if (error instanceof SourceUnavailableError) return error;
  const code = (error as { code?: unknown }).code;
  const errno = (error as { errno?: unknown }).errno;
  const transient = (typeof code === "string" && UNAVAILABLE_CODES.has(code)) || (typeof errno === "number" && UNAVAILABLE_ERRNOS.has(errno));
  if (!transient) return error;
  return new SourceUnavailableError(
    `MySQL at ${host}: ${String(code ?? errno)} (${error.message}); retried by the state machine, check the source if it persists`,
    { cause: error },
  );
}

/** Sessions read only (extraction, counts, discovery), except the temp-table pattern's cleanup, which deletes. */
export type SourceAccess = "read" | "write";

export async function connectSource(source: SourceConnection, credentials: DbCredentials, access: SourceAccess = "read"): Promise<Connection> {
  try {
    return await openConnection(source, credentials, access);
  } catch (error) {
    throw classifySourceError(error instanceof Error ? error : new Error(String(error)), source.host);
  }
}

async function openConnection(source: SourceConnection, credentials: DbCredentials, access: SourceAccess): Promise<Connection> {
  const connection = await mysql.createConnection({
    host: source.host,
    port: source.port,
    user: credentials.username,
    password: credentials.password,
    database: source.database,
    connectTimeout: source.connect_timeout_ms,
    // RDS/Aurora certificates are not in Node's default CA store; mysql2 ships their bundle as a profile.
    ...(source.ssl ? { ssl: source.host.endsWith(".rds.amazonaws.com") ? "Amazon RDS" : { rejectUnauthorized: true } } : {}),
    charset: "UTF8MB4_UNICODE_CI",
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
  });
  await connection.query("SET time_zone = '+00:00'");
  // Whatever a query (custom_sql included) asks, a read session cannot write to the source: MySQL refuses.
  if (access === "read") await connection.query("SET SESSION TRANSACTION READ ONLY");
  return connection;
}

/**
 * The source's clock, read once: UTC now, and now in the server's own zone (`@@global.time_zone`, SYSTEM resolved
 * through the OS zone) and in its OS zone (what INNODB_TRX.trx_started is written in). Named zones need MySQL's
 * time-zone tables for CONVERT_TZ; a server using one has them.
 */
export async function readSourceClock(connection: Connection): Promise<SourceClock> {
  const row = await queryRow(connection, {
    sql: "SELECT UTC_TIMESTAMP(6), @@global.time_zone, @@system_time_zone, CONVERT_TZ(UTC_TIMESTAMP(6), '+00:00', @@global.time_zone), CONVERT_TZ(UTC_TIMESTAMP(6), '+00:00', 'SYSTEM')",
    params: [],
  });
  const text = (i: number) => textOf(row?.[i]) ?? "";
  const utcNow = text(0);
  const global = text(1);
  return {
    utcNow,
    serverZone: global === "SYSTEM" ? `SYSTEM (${text(2)})` : global,
    serverNow: text(3) === "" ? utcNow : text(3),
    systemNow: text(4) === "" ? utcNow : text(4),
  };
}

/** MySQL's refusals of INNODB_TRX to a user without PROCESS (MySQL: 1227; MariaDB: 1227, or 1044/1142 on some builds). */
const NO_PROCESS_PRIVILEGE = new Set([1227, 1044, 1142]);

/**
 * The start (in the OS zone, to the second) of the oldest transaction that has written and not committed, other
 * sessions only; `unreadable` where the sync user lacks PROCESS (the horizon is optional).
 */
export async function readOldestWriteTransaction(connection: Connection): Promise<{ startedAt: string | null } | { unreadable: string }> {
  try {
    const row = await queryRow(connection, {
      sql: "SELECT MIN(trx_started) FROM information_schema.INNODB_TRX WHERE trx_rows_modified > 0 AND trx_mysql_thread_id <> CONNECTION_ID()",
      params: [],
    });
    return { startedAt: textOf(row?.[0]) };
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    if (typeof errno === "number" && NO_PROCESS_PRIVILEGE.has(errno)) return { unreadable: "the sync user lacks PROCESS, which INNODB_TRX needs" };
    throw error;
  }
}

/** A unique index: its name and columns in index order (PRIMARY included). */
export type UniqueIndex = { name: string; columns: string[] };

export type DiscoveredTable = { columns: SourceColumn[]; primaryKey: string[]; uniqueIndexes: UniqueIndex[] };

const cache = new Map<string, { expires: number; table: DiscoveredTable }>();
const cacheKey = (connection: Connection, schema: string, table: string) =>
  `${connection.config.host ?? ""}:${connection.config.port ?? ""}/${schema}.${table}`;

/** Forgets what was discovered (all tables, or one): a dropped column must not keep failing runs for an hour. */
export function forgetDiscovered(connection?: Connection, schema?: string, table?: string): void {
  if (connection === undefined || schema === undefined || table === undefined) cache.clear();
  else cache.delete(cacheKey(connection, schema, table));
}

/** MySQL's "Unknown column" (ER_BAD_FIELD_ERROR): the table changed since it was discovered. */
export function isUnknownColumn(error: unknown): boolean {
  return error instanceof Error && (error as { errno?: number }).errno === 1054;
}

/** Columns and primary key from INFORMATION_SCHEMA (cached for SCHEMA_CACHE_SECONDS). */
export async function discoverTable(connection: Connection, schema: string, table: string, now = Date.now()): Promise<DiscoveredTable> {
  const key = cacheKey(connection, schema, table);
  const hit = cache.get(key);
  if (hit !== undefined && hit.expires > now) return hit.table;
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION,
            CHARACTER_MAXIMUM_LENGTH, COLUMN_KEY, ORDINAL_POSITION
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  if (rows.length === 0) {
    throw new SourceTableError(`source table ${schema}.${table} does not exist (or the user cannot see it); check the table key in the pipeline file`);
  }
  const [keyRows] = await connection.query<RowDataPacket[]>(
    `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`,
    [schema, table],
  );
  const uniqueIndexes: UniqueIndex[] = [];
  for (const row of keyRows) {
    const name = String(row.INDEX_NAME);
    const last = uniqueIndexes.at(-1);
    if (last?.name === name) last.columns.push(String(row.COLUMN_NAME));
    else uniqueIndexes.push({ name, columns: [String(row.COLUMN_NAME)] });
  }
  const number = (value: unknown) => (value === null || value === undefined ? null : Number(value));
  const discovered: DiscoveredTable = {
    columns: rows.map((row) => ({
      name: String(row.COLUMN_NAME),
      dataType: String(row.DATA_TYPE).toLowerCase(),
      columnType: String(row.COLUMN_TYPE).toLowerCase(),
      nullable: row.IS_NULLABLE === "YES",
      numericPrecision: number(row.NUMERIC_PRECISION),
      numericScale: number(row.NUMERIC_SCALE),
      datetimePrecision: number(row.DATETIME_PRECISION),
      characterMaximumLength: number(row.CHARACTER_MAXIMUM_LENGTH),
    })),
    primaryKey: uniqueIndexes.find((index) => index.name === "PRIMARY")?.columns ?? [],
    uniqueIndexes,
  };
  // MariaDB reports JSON as LONGTEXT with a json_valid() check; the mapping is the same (text), nothing to fix.
  cache.set(key, { expires: now + SCHEMA_CACHE_SECONDS * 1000, table: discovered });
  return discovered;
}

/** One row of a small query (the ceiling, a count), as an array. */
export async function queryRow(connection: Connection, query: SqlQuery): Promise<unknown[] | undefined> {
  return (await queryRows(connection, query))[0];
}

/** Every row of a small result (counts per bucket, …), as arrays; a dead connection is classified as for any query. */
export async function queryRows(connection: Connection, query: SqlQuery): Promise<unknown[][]> {
  try {
    const [rows] = await connection.query<RowDataPacket[][]>({ sql: query.sql, rowsAsArray: true }, query.params);
    return rows;
  } catch (error) {
    throw classifySourceError(error instanceof Error ? error : new Error(String(error)), connection.config.host ?? "?");
  }
}

/** The result columns of a query, without reading its rows (custom_sql). */
export async function resultColumns(connection: Connection, query: SqlQuery): Promise<string[]> {
  const [, fields] = await connection.query<RowDataPacket[]>({ sql: `SELECT * FROM (${query.sql}) AS q LIMIT 0` }, query.params);
  return fields.map((f) => f.name);
}

/**
 * A text-protocol row read in place: value i is bytes[starts[i], ends[i]) of the packet MySQL sent, NULL where
 * starts[i] < 0 — no object per value (mysql2 makes a Buffer of each, ~0.17 µs of CPU per 11-column row: see
 * docs/benchmarks.md). One object serves every row of a query, valid during the sink's call only: `keepIn` copies
 * where a row lies (the packet is never reused), so it can be read again later.
 */
export class RowInPlace {
  bytes: Buffer = Buffer.alloc(0);
  starts = new Int32Array(0);
  ends = new Int32Array(0);
  private at = 0;
  private columns = 0;
  private parsed = true;

  /** Reads the `columns` length-coded values of the row at bytes[at…]. */
  read(bytes: Buffer, at: number, columns: number): void {
    this.bytes = bytes;
    this.at = at;
    this.columns = columns;
    if (this.starts.length < columns) {
      this.starts = new Int32Array(columns);
      this.ends = new Int32Array(columns);
    }
    const { starts, ends } = this;
    let o = at;
    for (let i = 0; i < columns; i++) {
      // A length-coded string: one byte below 251, else a marker and 2, 3 or 8 bytes; 251 is NULL.
      let length = bytes[o++] ?? 0;
      if (length === 0xfb) {
        starts[i] = -1;
        ends[i] = -1;
        continue;
      }
      if (length === 0xfc) {
        length = bytes.readUInt16LE(o);
        o += 2;
      } else if (length === 0xfd) {
        length = bytes.readUIntLE(o, 3);
        o += 3;
      } else if (length === 0xfe) {
        length = bytes.readUInt32LE(o) + bytes.readUInt32LE(o + 4) * 4_294_967_296;
        o += 8;
      }
      starts[i] = o;
      o += length;
      ends[i] = o;
    }
    this.parsed = true;
  }

  /** Makes `other` this row, read again when asked. */
  keepIn(other: RowInPlace): void {
    other.bytes = this.bytes;
    other.at = this.at;
    other.columns = this.columns;
    other.parsed = false;
  }

  /** The row as mysql2 gives it with typeCast off: a Buffer per value, or null. */
  values(): (Buffer | null)[] {
    if (!this.parsed) this.read(this.bytes, this.at, this.columns);
    return Array.from({ length: this.columns }, (_, i) => {
      const start = this.starts[i] ?? -1;
      return start < 0 ? null : this.bytes.subarray(start, this.ends[i]);
    });
  }
}

/**
 * Has mysql2's query read its rows in place into `row` (the query's own row parser, made per query, is not used).
 * mysql2 has no public hook for this: its Query keeps the parser in `_rowParser`. Where that is gone (another
 * mysql2), rows come as arrays, as before, and false says so (a test holds the pinned version to true).
 */
function readRowsInPlace(query: object, row: RowInPlace): boolean {
  if (!Object.hasOwn(query, "_rowParser")) return false;
  let mysql2Parser: unknown = null;
  const inPlace = {
    next(packet: { buffer: Buffer; offset: number }, fields: readonly unknown[]) {
      row.read(packet.buffer, packet.offset, fields.length);
      return row;
    },
  };
  Object.defineProperty(query, "_rowParser", {
    configurable: true,
    get: () => (mysql2Parser === null ? null : inPlace),
    set: (parser: unknown) => {
      mysql2Parser = parser;
    },
  });
  return true;
}

export type RowSink = {
  /** Called with each row: true = taken, go on; false = not taken, stop reading (the rest is discarded). */
  row(row: unknown[]): boolean;
  /** When given, rows are read in place and come here instead (as `row`, with the same values as bytes). */
  rowInPlace?: (row: RowInPlace) => boolean;
  /** When the sink is slow: the stream pauses until the returned promise settles. */
  backpressure(): Promise<unknown> | undefined;
  fields?(names: string[]): void;
};

/**
 * Streams a query's rows into the sink without buffering the result. Stopping early destroys the connection
 * (MySQL has no way to abandon a result set mid-stream): the caller must not reuse it then.
 *
 * A connection that dies mid-stream (KILL, failover, network) is reported by mysql2 on the connection only — the
 * query stream then emits neither `error` nor `end` — so the connection is listened to as well; and a read that
 * yields no row for READ_STALL_SECONDS (backpressure aside) is abandoned. Both end as SourceUnavailableError.
 */
export function streamQuery(
  connection: Connection,
  query: SqlQuery,
  sink: RowSink,
  stallSeconds = READ_STALL_SECONDS,
): Promise<{ rows: number; stopped: boolean; inPlace: boolean }> {
  // The promise wrapper keeps the callback connection (which streams) as .connection; its typings omit it.
  const raw = (connection as unknown as { connection: CallbackConnection }).connection;
  const host = raw.config.host ?? "?";
  return new Promise((resolve, reject) => {
    let rows = 0;
    let inPlace = false;
    let settled = false;
    let paused = false;
    // Rows are counted, not timed: a ticker notices a count that stopped moving while the sink was not the cause.
    let seen = -1;
    let quietSince = Date.now();
    const ticker = setInterval(
      () => {
        if (paused || rows !== seen) {
          seen = rows;
          quietSince = Date.now();
        } else if (Date.now() - quietSince >= stallSeconds * 1000) {
          stop(
            new SourceUnavailableError(
              `MySQL at ${host}: no row for ${stallSeconds} s mid-read (a dead connection or a stalled server); retried by the state machine`,
            ),
          );
        }
      },
      Math.min(1000, stallSeconds * 250),
    );
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(ticker);
      raw.off("error", onConnectionError);
      raw.off("end", onConnectionEnd);
      outcome();
    };
    const stop = (error?: unknown) => {
      raw.destroy();
      settle(() => {
        if (error === undefined) resolve({ rows, stopped: true, inPlace });
        else reject(error instanceof Error ? error : new Error(`query failed: ${JSON.stringify(error)}`));
      });
    };
    const onConnectionError = (error: Error) => {
      stop(classifySourceError(error, host));
    };
    const onConnectionEnd = () => {
      stop(new SourceUnavailableError(`MySQL at ${host}: the connection closed mid-read; retried by the state machine`));
    };
    raw.on("error", onConnectionError);
    raw.on("end", onConnectionEnd);
    // typeCast off: values arrive as the bytes MySQL sent (its exact text, or raw bytes for BIT/BLOB), which the
    // Parquet writer parses or copies directly — no JS string is made of them only to be encoded again.
    const stream = raw.query({ sql: query.sql, values: query.params, rowsAsArray: true, typeCast: false });
    const { rowInPlace } = sink;
    inPlace = rowInPlace !== undefined && readRowsInPlace(stream, new RowInPlace());
    stream.on("fields", (fields: FieldPacket[]) => sink.fields?.(fields.map((f) => f.name)));
    stream.on("result", (row: unknown) => {
      if (settled) return;
      try {
        if (!(row instanceof RowInPlace && rowInPlace !== undefined ? rowInPlace(row) : sink.row(row as unknown[]))) {
          stop();
          return;
        }
      } catch (error) {
        stop(error);
        return;
      }
      rows++;
      const waiting = sink.backpressure();
      if (waiting === undefined) return;
      // The sink is slow, not MySQL: no stall while paused.
      paused = true;
      raw.pause();
      waiting.then(() => {
        paused = false;
        if (!settled) raw.resume();
      }, stop);
    });
    stream.on("error", (error: Error) => {
      settle(() => {
        reject(classifySourceError(error, host));
      });
    });
    stream.on("end", () => {
      settle(() => {
        resolve({ rows, stopped: false, inPlace });
      });
    });
  });
}
