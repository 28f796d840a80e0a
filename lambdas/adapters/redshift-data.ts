/**
 * The one module that talks to Redshift: every Data API call goes through here. Submission and waiting are
 * separate steps (SubmitLoad, AwaitLoad: a load may outlast a function); a FAILED statement becomes a typed
 * error carrying Redshift's message and the failing sub-statement, with credentials redacted.
 */
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
  type DescribeStatementCommandOutput,
  type Field,
  type RedshiftDataClientConfig,
} from "@aws-sdk/client-redshift-data";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { TargetConnection } from "#config/schema.ts";
import { countWarehouseStatement } from "#shared/meter.ts";
import { tracer } from "#shared/powertools.ts";

/** Throttling and 5xx are retried by the SDK (adaptive); more attempts only delay a real outage. */
export const DATA_API_MAX_ATTEMPTS = 5;
/**
 * DescribeStatement long-polls: the Data API holds the call until the statement ends or this many seconds pass
 * ("Reduce API calls with long polling": WaitTimeSeconds, 1 to 30), so a short statement is seen finished at once and
 * the function sends one call per 20 s of a long one instead of a poll every few seconds.
 */
export const LONG_POLL_SECONDS = 20;
/** The Data API's largest WaitTimeSeconds. */
export const MAX_WAIT_SECONDS = 30;
/** Too many long polls of one statement at once: the Data API's answer, after which `wait` polls without waiting. */
const ACTIVE_WAITS_EXCEEDED = "ActiveWaitingRequestsExceededException";
const SHORT_POLL_MS = 1000;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The role every Data API call of the product is made as (set by the stack on the functions that talk to Redshift;
 * AwaitLoad polls the loads as it). The Data API lets only the identity that ran a statement describe
 * it or read its results, and on Redshift Serverless each IAM identity is its own database user (IAMR:<role>): one
 * role keeps submit, poll, complete and validate one owner and one database user.
 */
export const WAREHOUSE_ROLE_ENV = "MRSYNC_WAREHOUSE_ROLE_ARN";

/** An STS session name from the function's name: [\w+=,.@-], at most 64 characters. */
export function warehouseSessionName(env: Env): string {
  return `mrsync-${env.AWS_LAMBDA_FUNCTION_NAME ?? "cli"}`.replace(/[^\w+=,.@-]/g, "-").slice(0, 64);
}

export function redshiftDataClientConfig(target: Pick<TargetConnection, "region">, env: Env = process.env): RedshiftDataClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_REDSHIFT_DATA ?? env.AWS_ENDPOINT_URL;
  const warehouseRole = env[WAREHOUSE_ROLE_ENV];
  return {
    retryMode: "adaptive",
    maxAttempts: DATA_API_MAX_ATTEMPTS,
    ...(target.region === undefined ? {} : { region: target.region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    // Refreshed before they expire; the STS endpoint follows AWS_ENDPOINT_URL_STS like every other client's.
    ...(warehouseRole === undefined || warehouseRole === ""
      ? {}
      : {
          credentials: fromTemporaryCredentials({
            params: { RoleArn: warehouseRole, RoleSessionName: warehouseSessionName(env) },
            clientConfig: target.region === undefined ? {} : { region: target.region },
          }),
        }),
  };
}

/** Credentials inside SQL (COPY … CREDENTIALS '…', ACCESS_KEY_ID/SECRET_ACCESS_KEY/SESSION_TOKEN, PASSWORD '…'). */
export function redactSql(sql: string): string {
  return sql
    .replace(/\b(CREDENTIALS|PASSWORD|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)(\s+(?:AS\s+)?)'(?:[^']|'')*'/gi, "$1$2'***'")
    .replace(/(aws_secret_access_key|aws_access_key_id|token)=[^;']*/gi, "$1=***");
}

/** The Data API's statement states (AwaitLoad answers with one; the state machine's LoadEnded? reads it). */
export const STATEMENT_STATUSES = ["SUBMITTED", "PICKED", "STARTED", "FINISHED", "ABORTED", "FAILED"] as const;
export type StatementStatus = (typeof STATEMENT_STATUSES)[number];

export type StatementState = {
  id: string;
  status: StatementStatus;
  /** Redshift's error, when FAILED. */
  error: string | undefined;
  /** The failing sub-statement (1-based) and its SQL, redacted. */
  failedStatement: { index: number; sql: string } | undefined;
  hasResultSet: boolean;
  resultRows: number;
  /** Ids to ask GetStatementResult for: the sub-statements (batch) or the statement that returned rows. */
  resultIds: string[];
  /** Rows returned or affected, per sub-statement (a batch) — -1 where Redshift reports none. */
  subStatementRows: number[];
};

/** A statement Redshift ran and rejected: its message, and which SQL (redacted) failed. */
export class RedshiftStatementError extends Error {
  override readonly name = "RedshiftStatementError";
  readonly statementId: string;
  readonly sql: string | undefined;
  constructor(state: StatementState) {
    const where = state.failedStatement === undefined ? "" : ` (statement ${state.failedStatement.index}: ${state.failedStatement.sql.slice(0, 2000)})`;
    super(`Redshift statement ${state.id} ${state.status}: ${state.error ?? "no error message"}${where}`);
    this.statementId = state.id;
    this.sql = state.failedStatement?.sql;
  }
}

/**
 * The Data API answered with a server error or throttling, or could not be reached, after the SDK's own attempts: a
 * transient condition the state machine retries by this name (the load's ledger and ClientToken keep it exactly once).
 */
export class WarehouseUnavailableError extends Error {
  override readonly name = "WarehouseUnavailableError";
}

const TRANSIENT_NAMES = new Set([
  "InternalServerException",
  "ServiceUnavailableException",
  "ServiceUnavailable",
  "ThrottlingException",
  "TooManyRequestsException",
  "DatabaseConnectionException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);
const TRANSIENT_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** The error as WarehouseUnavailableError when it is transient (the original kept as its cause), classified once here. */
export function classifyWarehouseError(error: unknown, operation: string): unknown {
  if (!(error instanceof Error)) return error;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (error as { code?: unknown }).code;
  const transient =
    TRANSIENT_NAMES.has(error.name) || (status !== undefined && (status >= 500 || status === 429)) || (typeof code === "string" && TRANSIENT_CODES.has(code));
  if (!transient) return error;
  return new WarehouseUnavailableError(
    `Redshift Data API ${operation}: ${error.name} (${error.message}); retried by the state machine, check the warehouse if it persists`,
    { cause: error },
  );
}

/** The statement did not finish in the time given; it may still be running (cancel it or keep polling). */
export class RedshiftTimeoutError extends Error {
  override readonly name = "RedshiftTimeoutError";
}

/** The Data API refuses a statement over 100 KB ("Considerations when calling the Amazon Redshift Data API"). */
export const MAX_STATEMENT_BYTES = 100_000;

/** A statement the product built is over the Data API's limit: a bug to report, refused before it is sent. */
export class StatementTooLargeError extends Error {
  override readonly name = "StatementTooLargeError";
}

/** Refuses, before sending, SQL the Data API would refuse for its size. */
export function checkStatementSize(sql: string): void {
  const bytes = Buffer.byteLength(sql, "utf8");
  if (bytes <= MAX_STATEMENT_BYTES) return;
  throw new StatementTooLargeError(
    `a statement of ${String(bytes)} bytes passes the Redshift Data API's limit of ${String(MAX_STATEMENT_BYTES)} (it was not sent): ${sql.slice(0, 160)}…`,
  );
}

export type Value = string | number | boolean | Uint8Array | null;

export const statementEnded = (state: Pick<StatementState, "status">): boolean =>
  state.status === "FINISHED" || state.status === "FAILED" || state.status === "ABORTED";

export function decodeField(field: Field): Value {
  if (field.isNull === true) return null;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.blobValue !== undefined) return field.blobValue;
  return field.stringValue ?? null;
}

function stateOf(output: DescribeStatementCommandOutput): StatementState {
  const subs = output.SubStatements ?? [];
  const failedIndex = subs.findIndex((s) => s.Status === "FAILED");
  const failedSql = failedIndex >= 0 ? subs[failedIndex]?.QueryString : subs.length === 0 ? output.QueryString : undefined;
  return {
    id: output.Id ?? "",
    status: (output.Status ?? "SUBMITTED") as StatementStatus,
    error: output.Error ?? (failedIndex >= 0 ? subs[failedIndex]?.Error : undefined),
    failedStatement:
      output.Status === "FAILED" && failedSql !== undefined ? { index: failedIndex >= 0 ? failedIndex + 1 : 1, sql: redactSql(failedSql) } : undefined,
    hasResultSet: output.HasResultSet ?? false,
    resultRows: output.ResultRows ?? -1,
    resultIds: subs.length > 0 ? subs.filter((s) => s.HasResultSet === true).map((s) => s.Id ?? "") : output.HasResultSet === true ? [output.Id ?? ""] : [],
    subStatementRows: subs.map((s) => s.ResultRows ?? -1),
  };
}

export class RedshiftData {
  private readonly client: RedshiftDataClient;
  private readonly target: TargetConnection;
  /** Epoch ms by which every wait must have returned (the calling function's deadline); undefined: none. */
  private readonly deadline: number | undefined;

  constructor(client: RedshiftDataClient, target: TargetConnection, deadline?: number) {
    this.client = client;
    this.target = target;
    this.deadline = deadline;
  }

  /** Every call goes through here: transient failures become WarehouseUnavailableError. */
  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw classifyWarehouseError(error, operation);
    }
  }

  private get where() {
    const t = this.target;
    return t.workgroup_name !== undefined
      ? { WorkgroupName: t.workgroup_name, Database: t.database, ...(t.secret === undefined ? {} : { SecretArn: t.secret }) }
      : {
          ClusterIdentifier: t.cluster_identifier,
          Database: t.database,
          ...(t.secret === undefined ? { DbUser: t.db_user } : { SecretArn: t.secret }),
        };
  }

  /**
   * Submits SQL: one statement, or several as one transaction (BatchExecuteStatement). The ClientToken makes a
   * retried submission return the first statement instead of running it twice.
   */
  async submit(sql: string | readonly string[], options: { name?: string; clientToken?: string; parameters?: Record<string, string> } = {}): Promise<string> {
    for (const statement of typeof sql === "string" ? [sql] : sql) checkStatementSize(statement);
    countWarehouseStatement();
    const common = {
      ...this.where,
      ...(options.name === undefined ? {} : { StatementName: options.name }),
      ...(options.clientToken === undefined ? {} : { ClientToken: options.clientToken }),
      ...(options.parameters === undefined ? {} : { Parameters: Object.entries(options.parameters).map(([name, value]) => ({ name, value })) }),
    };
    const output =
      typeof sql === "string"
        ? await this.send("ExecuteStatement", () => this.client.send(new ExecuteStatementCommand({ ...common, Sql: sql })))
        : await this.send("BatchExecuteStatement", () => this.client.send(new BatchExecuteStatementCommand({ ...common, Sqls: [...sql] })));
    return output.Id ?? "";
  }

  /** The statement's state; with `waitSeconds`, once it ends or that many seconds pass (the Data API's long poll). */
  async describe(id: string, waitSeconds?: number): Promise<StatementState> {
    const wait = waitSeconds === undefined ? {} : { WaitTimeSeconds: Math.max(1, Math.min(MAX_WAIT_SECONDS, Math.floor(waitSeconds))) };
    return stateOf(await this.send("DescribeStatement", () => this.client.send(new DescribeStatementCommand({ Id: id, ...wait }))));
  }

  /**
   * The statement's state once it ends, or at `until` (epoch ms) if it runs past that: long polls, no sleeping here
   * (the Data API holds each call until the statement ends or LONG_POLL_SECONDS pass). Bounded by the calling
   * function's deadline too.
   */
  async awaitEnd(id: string, until: number): Promise<StatementState> {
    const deadline = Math.min(until, this.deadline ?? Infinity);
    let longPoll = true;
    for (;;) {
      const left = Math.floor((deadline - Date.now()) / 1000);
      let state: StatementState;
      try {
        state = await this.describe(id, longPoll && left >= 1 ? Math.min(LONG_POLL_SECONDS, left) : undefined);
      } catch (error) {
        // Another caller long-polls this statement already (the Data API limits them per statement): ask without
        // waiting from now on, a second apart.
        if (!(error instanceof Error) || error.name !== ACTIVE_WAITS_EXCEEDED) throw error;
        longPoll = false;
        await new Promise((resolve) => setTimeout(resolve, SHORT_POLL_MS));
        continue;
      }
      if (statementEnded(state) || Date.now() + 1000 > deadline) return state;
      if (!longPoll) await new Promise((resolve) => setTimeout(resolve, SHORT_POLL_MS));
    }
  }

  /**
   * Long-polls until the statement ends: FINISHED returns its state, FAILED/ABORTED throw. Bounded by `timeoutMs` and
   * by the calling function's deadline, whichever comes first (RedshiftTimeoutError).
   */
  async wait(id: string, timeoutMs = 15 * 60_000): Promise<StatementState> {
    const until = Date.now() + timeoutMs;
    const state = await this.awaitEnd(id, until);
    if (state.status === "FINISHED") return state;
    if (state.status === "FAILED" || state.status === "ABORTED") throw new RedshiftStatementError(state);
    const byDeadline = this.deadline !== undefined && this.deadline < until;
    throw new RedshiftTimeoutError(
      `Redshift statement ${id} still ${state.status} when the wait had to end (${byDeadline ? "the function's deadline" : `${timeoutMs} ms`}); retried by the state machine`,
    );
  }

  /** Every row of a result (all pages), values decoded; column names first. */
  async result(id: string): Promise<{ columns: string[]; rows: Value[][] }> {
    const rows: Value[][] = [];
    let columns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.send("GetStatementResult", () => this.client.send(new GetStatementResultCommand({ Id: id, NextToken: nextToken })));
      if (columns.length === 0) columns = (page.ColumnMetadata ?? []).map((c) => c.name ?? "");
      for (const record of page.Records ?? []) rows.push(record.map(decodeField));
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return { columns, rows };
  }

  async cancel(id: string): Promise<boolean> {
    return (await this.send("CancelStatement", () => this.client.send(new CancelStatementCommand({ Id: id })))).Status ?? false;
  }

  /**
   * Submit, wait, and read the last result set (small queries: validation counts, DDL checks). A statement still
   * running when the wait must end is cancelled, so it does not outlive its caller.
   */
  async query(sql: string | readonly string[], parameters?: Record<string, string>): Promise<{ columns: string[]; rows: Value[][] }> {
    const id = await this.submit(sql, parameters === undefined ? {} : { parameters });
    let state: StatementState;
    try {
      state = await this.wait(id);
    } catch (error) {
      if (error instanceof RedshiftTimeoutError) await this.cancel(id).catch(() => false);
      throw error;
    }
    const last = state.resultIds.at(-1);
    return last === undefined ? { columns: [], rows: [] } : this.result(last);
  }
}

const clients = new Map<string, RedshiftDataClient>();

/**
 * The Data API for a target (waits bounded by `deadline`, epoch ms, when given); one SDK client per region and
 * identity per process. The identity is the environment's when the call is made (MRSYNC_WAREHOUSE_ROLE_ARN), never
 * that of a client made earlier: a statement submitted as one identity can be described only by the same one.
 */
export function redshiftData(target: TargetConnection, deadline?: number): RedshiftData {
  const key = `${target.region ?? ""}\n${process.env[WAREHOUSE_ROLE_ENV] ?? ""}`;
  let client = clients.get(key);
  if (client === undefined) {
    client = tracer.captureAWSv3Client(new RedshiftDataClient(redshiftDataClientConfig(target)));
    clients.set(key, client);
  }
  return new RedshiftData(client, target, deadline);
}
