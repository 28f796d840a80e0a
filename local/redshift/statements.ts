/**
 * Statement bookkeeping as the Data API exposes it: submitted statements run asynchronously; DescribeStatement
 * shows SUBMITTED → STARTED → FINISHED | FAILED | ABORTED with durations; results are kept for GetStatementResult;
 * a ClientToken seen before returns the first statement instead of running it again.
 */
import { randomUUID } from "node:crypto";
import { columnMetadata, toField, type ColumnMetadata, type Field } from "./fields.ts";
import { StatementFailure, type SqlEngine, type SqlStatement, type StatementResult } from "./postgres.ts";
import type { Principal } from "./identities.ts";
import { bindNamedParameters } from "./translate.ts";

export type Status = "SUBMITTED" | "PICKED" | "STARTED" | "FINISHED" | "ABORTED" | "FAILED";

export type Target = { database: string; workgroupName?: string; clusterIdentifier?: string; dbUser?: string; secretArn?: string };

/** Redshift's longest string: a VARCHAR, and any string expression (`||`, TO_HEX), holds at most 65,535 bytes. */
const MAX_STRING_BYTES = 65_535;
/** Postgres' string types (text, varchar, bpchar, name): what Redshift would return as VARCHAR/CHAR. */
const STRING_OIDS = new Set([25, 1043, 1042, 19]);

/** Whether a result holds a string longer than Redshift can make one (Postgres can; Redshift fails the statement). */
function overlongString(result: StatementResult | undefined): boolean {
  if (result?.hasResultSet !== true) return false;
  const strings = result.fields.flatMap((field, i) => (STRING_OIDS.has(field.dataTypeID) ? [i] : []));
  return strings.length > 0 && result.rows.some((row) => strings.some((i) => Buffer.byteLength(row[i] ?? "") > MAX_STRING_BYTES));
}

type Part = { sql: string; status: Status; error?: string; result?: StatementResult; startedAt?: number; endedAt?: number };

export type Statement = Target & {
  id: string;
  /** The identity that ran it: only it may describe, read, cancel or list it. */
  owner: Principal;
  /** The database user its SQL runs as (undefined: the engine's own user). */
  databaseUser: string | undefined;
  name?: string;
  batch: boolean;
  parameters: { name: string; value: string }[];
  createdAt: number;
  updatedAt: number;
  status: Status;
  error?: string;
  parts: Part[];
  pid?: number;
  done: Promise<void>;
};

/** A request the Data API refuses, with its error type (the SDK maps it to the exception class). */
export class DataApiFailure extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: "ValidationException" | "ResourceNotFoundException" | "InternalServerException" | "AccessDeniedException", message: string) {
    super(message);
    this.type = type;
    this.status = type === "ResourceNotFoundException" ? 404 : type === "InternalServerException" ? 500 : 400;
  }
}

const seconds = (ms: number) => ms / 1000;
/** Read through a function: CancelStatement changes the status while a statement awaits Postgres. */
const cancelled = (statement: Statement) => statement.status === "ABORTED";
const nanos = (part: { startedAt?: number; endedAt?: number }) =>
  part.startedAt === undefined || part.endedAt === undefined ? -1 : Math.round((part.endedAt - part.startedAt) * 1e6);

/** A ClientToken makes a submission idempotent for 8 hours (Data API reference): the same statement comes back. */
export const CLIENT_TOKEN_MS = 8 * 3600 * 1000;

/**
 * Who the SQL runs as: the cluster's DbUser where one is named (GetClusterCredentials), else the caller's own database
 * user (IAMR:<role>; an administrator's key: the engine's user). A secret's user is not read locally: the engine's.
 */
function databaseUserOf(caller: Principal, target: Target): string | undefined {
  if (target.dbUser !== undefined) return target.dbUser;
  if (target.secretArn !== undefined) return undefined;
  return caller.databaseUser;
}

export class StatementStore {
  private readonly statements = new Map<string, Statement>();
  private readonly tokens = new Map<string, { id: string; at: number; request: string }>();
  private readonly backend: SqlEngine;
  private readonly pageRows: number;
  private readonly now: () => number;

  constructor(backend: SqlEngine, pageRows = 1000, now: () => number = Date.now) {
    this.backend = backend;
    this.pageRows = pageRows;
    this.now = now;
  }

  submit(
    caller: Principal,
    target: Target,
    sqls: readonly string[],
    options: { batch: boolean; name?: string; parameters?: { name: string; value: string }[]; clientToken?: string },
  ): Statement {
    // Within 8 hours a repeated token (of the same caller) returns the original statement as it is — finished, or
    // failed — and runs nothing.
    const tokenKey = options.clientToken === undefined ? undefined : `${caller.owner}\n${options.clientToken}`;
    const token = tokenKey === undefined ? undefined : this.tokens.get(tokenKey);
    // What the token stands for: the same token with other SQL or another target is refused, as AWS's idempotency
    // tokens are (the same request, or an error — never the other request's statement).
    const request = JSON.stringify([target, sqls, options.batch, options.parameters ?? []]);
    if (token !== undefined && this.now() - token.at < CLIENT_TOKEN_MS) {
      const earlier = this.statements.get(token.id);
      if (earlier !== undefined && token.request !== request) {
        throw new DataApiFailure(
          "ValidationException",
          `ClientToken ${options.clientToken ?? ""} was used within 8 hours for a different request (other SQL, parameters or target)`,
        );
      }
      if (earlier !== undefined) return earlier;
    }
    const now = Date.now();
    const statement: Statement = {
      ...target,
      id: randomUUID(),
      owner: caller,
      databaseUser: databaseUserOf(caller, target),
      ...(options.name === undefined ? {} : { name: options.name }),
      batch: options.batch,
      parameters: options.parameters ?? [],
      createdAt: now,
      updatedAt: now,
      status: "SUBMITTED",
      parts: sqls.map((sql) => ({ sql, status: "SUBMITTED" })),
      done: Promise.resolve(),
    };
    this.statements.set(statement.id, statement);
    if (tokenKey !== undefined) this.tokens.set(tokenKey, { id: statement.id, at: this.now(), request });
    statement.done = new Promise((resolve) => setImmediate(resolve)).then(() => this.execute(statement));
    return statement;
  }

  private async execute(statement: Statement): Promise<void> {
    if (statement.status === "ABORTED") return;
    const started = Date.now();
    statement.status = "STARTED";
    statement.updatedAt = started;
    for (const part of statement.parts) {
      part.status = "STARTED";
      part.startedAt = started;
    }
    const sqls: SqlStatement[] = statement.parts
      .map((part) => bindNamedParameters(part.sql, statement.parameters))
      .map((b) => ({ sql: b.sql, values: b.values }));
    try {
      const results = await this.backend.run(statement.database, sqls, (pid) => (statement.pid = pid), statement.databaseUser);
      const tooLong = results.findIndex(overlongString);
      if (tooLong >= 0)
        throw new StatementFailure(
          tooLong,
          `value too long for type character varying(${String(MAX_STRING_BYTES)}): a string result passes Redshift's 65,535 bytes`,
        );
      const ended = Date.now();
      statement.parts.forEach((part, index) => Object.assign(part, { status: "FINISHED", result: results[index], endedAt: ended }));
      if (!cancelled(statement)) statement.status = "FINISHED";
    } catch (error) {
      const ended = Date.now();
      const failure = error instanceof StatementFailure ? error : new StatementFailure(0, String(error));
      const aborted = cancelled(statement);
      statement.parts.forEach((part, index) => {
        part.endedAt = ended;
        if (index < failure.index) part.status = "FINISHED";
        else if (index === failure.index) Object.assign(part, { status: aborted ? "ABORTED" : "FAILED", error: `ERROR: ${failure.message}` });
        else part.status = "ABORTED";
      });
      if (!aborted) {
        statement.status = "FAILED";
        statement.error = `ERROR: ${failure.message}`;
      }
    }
    statement.updatedAt = Date.now();
  }

  /**
   * The Data API's long poll (WaitTimeSeconds): returns once the statement has ended or `seconds` have passed,
   * whichever is first; a statement already ended returns at once.
   */
  async waitFor(caller: Principal, id: string, seconds: number | undefined, action = "DescribeStatement"): Promise<void> {
    if (seconds === undefined) return;
    const statement = this.get(caller, id, action);
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, seconds * 1000)));
    try {
      await Promise.race([statement.done.catch(() => undefined), limit]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Who ran a statement (undefined: no such statement; the action then answers ResourceNotFound). */
  ownerOf(id: string): Principal | undefined {
    return this.statements.get(id.split(":")[0] ?? "")?.owner;
  }

  /** A statement by id, for its owner; another identity is refused, as AWS refuses it. */
  get(caller: Principal, id: string, action = "DescribeStatement"): Statement {
    const statement = this.statements.get(id.split(":")[0] ?? "");
    if (statement === undefined) throw new DataApiFailure("ResourceNotFoundException", `Query does not exist: ${id}`);
    if (statement.owner.owner !== caller.owner) {
      throw new DataApiFailure(
        "AccessDeniedException",
        `User: ${caller.arn} is not authorized to perform: redshift-data:${action} on statement ${id}: it was run by ${statement.owner.owner}, and only the same IAM identity may act on it`,
      );
    }
    return statement;
  }

  async cancel(caller: Principal, id: string): Promise<boolean> {
    const statement = this.get(caller, id, "CancelStatement");
    if (!["SUBMITTED", "PICKED", "STARTED"].includes(statement.status)) {
      throw new DataApiFailure("ValidationException", `Could not cancel a query that is already in ${statement.status} state with ID: ${id}`);
    }
    statement.status = "ABORTED";
    statement.updatedAt = Date.now();
    if (statement.pid !== undefined) await this.backend.cancel(statement.database, statement.pid);
    return true;
  }

  describe(caller: Principal, id: string): Record<string, unknown> {
    const s = this.get(caller, id);
    const whole = { startedAt: s.parts[0]?.startedAt, endedAt: s.parts.at(-1)?.endedAt };
    const base = {
      Id: s.id,
      Status: s.status,
      CreatedAt: seconds(s.createdAt),
      UpdatedAt: seconds(s.updatedAt),
      Duration: nanos(whole),
      Database: s.database,
      ...(s.workgroupName === undefined ? {} : { WorkgroupName: s.workgroupName }),
      ...(s.clusterIdentifier === undefined ? {} : { ClusterIdentifier: s.clusterIdentifier }),
      ...(s.dbUser === undefined ? {} : { DbUser: s.dbUser }),
      ...(s.secretArn === undefined ? {} : { SecretArn: s.secretArn }),
      ...(s.error === undefined ? {} : { Error: s.error }),
      RedshiftPid: s.pid ?? 0,
      RedshiftQueryId: 0,
      QueryParameters: s.parameters,
    };
    if (!s.batch) {
      const part = s.parts[0];
      return {
        ...base,
        QueryString: part?.sql ?? "",
        HasResultSet: part?.result?.hasResultSet ?? false,
        ResultRows: part?.result?.rowCount ?? -1,
        ResultSize: -1,
      };
    }
    return {
      ...base,
      QueryString: "",
      HasResultSet: false,
      ResultRows: -1,
      ResultSize: -1,
      SubStatements: s.parts.map((part, index) => ({
        Id: `${s.id}:${index + 1}`,
        Status: part.status,
        QueryString: part.sql,
        CreatedAt: seconds(s.createdAt),
        UpdatedAt: seconds(part.endedAt ?? s.updatedAt),
        Duration: nanos(part),
        HasResultSet: part.result?.hasResultSet ?? false,
        ResultRows: part.result?.rowCount ?? -1,
        ResultSize: -1,
        RedshiftQueryId: 0,
        ...(part.error === undefined ? {} : { Error: part.error }),
      })),
    };
  }

  result(
    caller: Principal,
    id: string,
    nextToken: string | undefined,
  ): { Records: Field[][]; ColumnMetadata: ColumnMetadata[]; TotalNumRows: number; NextToken?: string } {
    const statement = this.get(caller, id, "GetStatementResult");
    const [, sub] = id.split(":");
    if (statement.batch && sub === undefined) {
      throw new DataApiFailure("ValidationException", `${id} is a batch: ask for one of its sub-statements (${id}:1 … ${id}:${statement.parts.length})`);
    }
    const part = statement.parts[sub === undefined ? 0 : Number(sub) - 1];
    if (part === undefined) throw new DataApiFailure("ResourceNotFoundException", `Query does not exist: ${id}`);
    if (part.status !== "FINISHED")
      throw new DataApiFailure("ValidationException", `Query does not have result. Please check query status with DescribeStatement (it is ${part.status}).`);
    const result = part.result;
    if (result?.hasResultSet !== true) throw new DataApiFailure("ResourceNotFoundException", `Query does not have result: ${id} returned no result set.`);
    const offset = nextToken === undefined ? 0 : Number(Buffer.from(nextToken, "base64url").toString("utf8"));
    if (!Number.isInteger(offset) || offset < 0) throw new DataApiFailure("ValidationException", "NextToken is not valid");
    const page = result.rows.slice(offset, offset + this.pageRows);
    const next = offset + page.length;
    return {
      Records: page.map((row) => row.map((value, i) => toField(result.fields[i]?.dataTypeID ?? 25, value))),
      ColumnMetadata: result.fields.map(columnMetadata),
      TotalNumRows: result.rows.length,
      ...(next < result.rows.length ? { NextToken: Buffer.from(String(next), "utf8").toString("base64url") } : {}),
    };
  }

  /** The caller's statements only (RoleLevel: every session of its role). */
  list(
    caller: Principal,
    filter: { status?: string; name?: string; maxResults?: number; nextToken?: string },
  ): { Statements: Record<string, unknown>[]; NextToken?: string } {
    const all = [...this.statements.values()]
      .filter((s) => s.owner.owner === caller.owner)
      .filter((s) => filter.status === undefined || filter.status === "ALL" || s.status === filter.status)
      .filter((s) => filter.name === undefined || (s.name ?? "").startsWith(filter.name))
      .sort((a, b) => b.createdAt - a.createdAt);
    const offset = filter.nextToken === undefined ? 0 : Number(filter.nextToken);
    const max = Math.min(filter.maxResults ?? 100, 100);
    const page = all.slice(offset, offset + max);
    return {
      Statements: page.map((s) => ({
        Id: s.id,
        Status: s.status,
        CreatedAt: seconds(s.createdAt),
        UpdatedAt: seconds(s.updatedAt),
        IsBatchStatement: s.batch,
        ...(s.batch ? { QueryStrings: s.parts.map((p) => p.sql) } : { QueryString: s.parts[0]?.sql ?? "" }),
        ...(s.name === undefined ? {} : { StatementName: s.name }),
        ...(s.secretArn === undefined ? {} : { SecretArn: s.secretArn }),
        QueryParameters: s.parameters,
      })),
      ...(offset + max < all.length ? { NextToken: String(offset + max) } : {}),
    };
  }

  /** Waits for every statement submitted so far (tests, shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.statements.values()].map((s) => s.done));
  }
}
