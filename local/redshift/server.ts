/**
 * A Redshift Data API endpoint on loopback (AWS JSON 1.1, `X-Amz-Target: RedshiftData.<Operation>`), executing on
 * real Postgres — so the production loader (@aws-sdk/client-redshift-data) and `aws redshift-data … --endpoint-url`
 * work against it unchanged. Signatures are not checked, but the access key they name is the caller's identity
 * (identities.ts): statements belong to it, and its SQL runs as its database user. STS's AssumeRole is answered on the
 * same port (AWS_ENDPOINT_URL_STS). What it does not emulate: README, "Local stand-ins".
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import type { S3Store } from "#adapters/s3.ts";
import { copyFromS3 } from "./copy.ts";
import { PgliteEngine } from "./pglite.ts";
import { PostgresBackend, type SqlEngine, type StatementHook } from "./postgres.ts";
import { chainHooks, redshiftRules } from "./rules.ts";
import { LocalIdentities, signingAccessKey, StsFailure, type Principal } from "./identities.ts";
import { DataApiFailure, StatementStore, type Target } from "./statements.ts";
import { answerSts } from "./sts.ts";
import { AccessDenied } from "../iam/authorizer.ts";
import { LOCAL_IDENTITY_HEADER } from "../iam/runtime.ts";
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, localWorkgroupId } from "../endpoints.ts";

/** The service identity the local runner names (iam/runtime.ts), if any. */
const serviceIdentity = (req: IncomingMessage): string | undefined => {
  const value = req.headers[LOCAL_IDENTITY_HEADER];
  return Array.isArray(value) ? value[0] : value;
};

export type LocalRedshiftOptions = {
  /**
   * postgres://user@host:port/ — the Data API's Database selects the database on that server. Without it the
   * endpoint runs embedded PGlite (in memory, or under `dataDir`).
   */
  postgresUrl?: string;
  dataDir?: string;
  host?: string;
  port?: number;
  /** Records per GetStatementResult page (Redshift pages by size; small pages exercise NextToken). */
  pageRows?: number;
  /** Where COPY reads s3:// URLs (the local S3); without it, COPY is left to Postgres (and fails). */
  s3?: S3Store;
  /** Who holds which access key (shared with other stand-ins); a fresh registry by default. */
  identities?: LocalIdentities;
};

export type LocalRedshift = {
  endpoint: string;
  port: number;
  store: StatementStore;
  identities: LocalIdentities;
  /**
   * Runs before every statement (tests): e.g. holds one load's COPY to show what waits behind it. Undefined removes
   * it. A hook that answers (returns a result) replaces the statement.
   */
  setStatementHook(hook: StatementHook | undefined): void;
  /** Starts the engine of these databases now (embedded PGlite's start-up), not at their first statement. */
  prepare(databases: readonly string[]): Promise<void>;
  close(): Promise<void>;
};

const Parameters = z.array(z.object({ name: z.string().min(1), value: z.string() })).optional();
const TargetFields = {
  Database: z.string().min(1).optional(),
  WorkgroupName: z.string().min(1).optional(),
  ClusterIdentifier: z.string().min(1).optional(),
  DbUser: z.string().optional(),
  SecretArn: z.string().optional(),
  StatementName: z.string().max(500).optional(),
  WithEvent: z.boolean().optional(),
  ClientToken: z.string().optional(),
  Parameters,
};
/** The Data API's limit on a statement: 100 KB (of UTF-8, not characters). */
const MAX_STATEMENT_BYTES = 100_000;
const Sql = z
  .string()
  .min(1)
  .refine((sql) => Buffer.byteLength(sql, "utf8") <= MAX_STATEMENT_BYTES, {
    message: `the statement exceeds the maximum size of ${String(MAX_STATEMENT_BYTES)} bytes`,
  });
/** Long polling: 1 to 30 seconds ("Reduce API calls with long polling"); a value outside is a ValidationException. */
const WaitTimeSeconds = z
  .number()
  .int()
  .min(1, "Member must have value greater than or equal to 1")
  .max(30, "Member must have value less than or equal to 30")
  .optional();
const Execute = z.object({ ...TargetFields, Sql, WaitTimeSeconds });
const Batch = z.object({ ...TargetFields, Sqls: z.array(Sql).min(1).max(40), WaitTimeSeconds });
const ById = z.object({ Id: z.string().min(1), NextToken: z.string().optional(), WaitTimeSeconds });
const List = z.object({
  Status: z.string().optional(),
  StatementName: z.string().optional(),
  MaxResults: z.number().int().optional(),
  NextToken: z.string().optional(),
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DataApiFailure("ValidationException", `${issue?.path.join(".") ?? "request"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

function target(request: z.output<typeof Execute> | z.output<typeof Batch>): Target {
  if (request.Database === undefined) throw new DataApiFailure("ValidationException", "Database is required");
  if ((request.WorkgroupName === undefined) === (request.ClusterIdentifier === undefined)) {
    throw new DataApiFailure("ValidationException", "Either ClusterIdentifier or WorkgroupName must be specified, but not both");
  }
  return {
    database: request.Database,
    ...(request.WorkgroupName === undefined ? {} : { workgroupName: request.WorkgroupName }),
    ...(request.ClusterIdentifier === undefined ? {} : { clusterIdentifier: request.ClusterIdentifier }),
    ...(request.DbUser === undefined ? {} : { dbUser: request.DbUser }),
    ...(request.SecretArn === undefined ? {} : { secretArn: request.SecretArn }),
  };
}

/** What ExecuteStatement/BatchExecuteStatement answer; with WaitTimeSeconds, also the status once ended or the wait is up. */
async function submittedAfter(store: StatementStore, caller: Principal, statement: ReturnType<StatementStore["submit"]>, wait: number | undefined) {
  if (wait === undefined) return submitted(statement);
  await store.waitFor(caller, statement.id, wait);
  const described = store.describe(caller, statement.id);
  return {
    ...submitted(statement),
    Status: described.Status,
    RedshiftPid: described.RedshiftPid,
    ...(statement.batch ? {} : { HasResultSet: described.HasResultSet }),
  };
}

function submitted(statement: ReturnType<StatementStore["submit"]>): Record<string, unknown> {
  return {
    Id: statement.id,
    CreatedAt: statement.createdAt / 1000,
    Database: statement.database,
    ...(statement.workgroupName === undefined ? {} : { WorkgroupName: statement.workgroupName }),
    ...(statement.clusterIdentifier === undefined ? {} : { ClusterIdentifier: statement.clusterIdentifier }),
    ...(statement.dbUser === undefined ? {} : { DbUser: statement.dbUser }),
    ...(statement.secretArn === undefined ? {} : { SecretArn: statement.secretArn }),
  };
}

/** The ARN a statement's target has in IAM (the resource of ExecuteStatement), in the caller's account and Region. */
function warehouseArn(target: Target): string {
  return target.workgroupName !== undefined
    ? // A workgroup's ARN carries its id; the local one derives it from the name.
      `arn:aws:redshift-serverless:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:workgroup/${localWorkgroupId(target.workgroupName)}`
    : `arn:aws:redshift:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:cluster:${target.clusterIdentifier ?? ""}`;
}

/**
 * What IAM checks before a statement runs: the action on the warehouse, and the credentials the Data API fetches as
 * the caller — Serverless's GetCredentials, a cluster's GetClusterCredentials for DbUser, or the secret.
 */
async function authorizeSubmit(identities: LocalIdentities, caller: Principal, action: string, target: Target): Promise<void> {
  const warehouse = warehouseArn(target);
  await identities.authorize(caller, `redshift-data:${action}`, warehouse);
  if (target.secretArn !== undefined) await identities.authorize(caller, "secretsmanager:GetSecretValue", target.secretArn);
  else if (target.workgroupName !== undefined) await identities.authorize(caller, "redshift-serverless:GetCredentials", warehouse);
  else if (target.dbUser !== undefined) {
    const cluster = target.clusterIdentifier ?? "";
    await identities.authorize(
      caller,
      "redshift:GetClusterCredentials",
      `arn:aws:redshift:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:dbuser:${cluster}/${target.dbUser}`,
    );
  }
}

/** The statement-level actions: allowed by the statement's owner (the condition key the stack scopes them with). */
async function authorizeOnStatement(store: StatementStore, identities: LocalIdentities, caller: Principal, action: string, id: string): Promise<void> {
  const owner = store.ownerOf(id);
  await identities.authorize(caller, `redshift-data:${action}`, "*", owner === undefined ? {} : { "redshift-data:statement-owner-iam-userid": owner.userId });
}

async function operate(store: StatementStore, identities: LocalIdentities, caller: Principal, operation: string, body: unknown): Promise<unknown> {
  switch (operation) {
    case "ExecuteStatement": {
      const request = parse(Execute, body);
      await authorizeSubmit(identities, caller, operation, target(request));
      const statement = store.submit(caller, target(request), [request.Sql], {
        batch: false,
        name: request.StatementName,
        parameters: request.Parameters,
        clientToken: request.ClientToken,
      });
      return submittedAfter(store, caller, statement, request.WaitTimeSeconds);
    }
    case "BatchExecuteStatement": {
      const request = parse(Batch, body);
      await authorizeSubmit(identities, caller, operation, target(request));
      const statement = store.submit(caller, target(request), request.Sqls, {
        batch: true,
        name: request.StatementName,
        parameters: request.Parameters,
        clientToken: request.ClientToken,
      });
      return submittedAfter(store, caller, statement, request.WaitTimeSeconds);
    }
    case "DescribeStatement": {
      const { Id, WaitTimeSeconds: wait } = parse(ById, body);
      await authorizeOnStatement(store, identities, caller, operation, Id);
      await store.waitFor(caller, Id, wait);
      return store.describe(caller, Id);
    }
    case "GetStatementResult": {
      const request = parse(ById, body);
      await authorizeOnStatement(store, identities, caller, operation, request.Id);
      await store.waitFor(caller, request.Id, request.WaitTimeSeconds, operation);
      return store.result(caller, request.Id, request.NextToken);
    }
    case "CancelStatement": {
      const { Id } = parse(ById, body);
      await authorizeOnStatement(store, identities, caller, operation, Id);
      return { Status: await store.cancel(caller, Id) };
    }
    case "ListStatements": {
      const request = parse(List, body);
      await identities.authorize(caller, "redshift-data:ListStatements", "*");
      return store.list(caller, { status: request.Status, name: request.StatementName, maxResults: request.MaxResults, nextToken: request.NextToken });
    }
    default:
      throw new DataApiFailure("ValidationException", `operation ${operation} is not supported by the local Redshift Data API`);
  }
}

const MAX_BODY = 1024 * 1024;

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new DataApiFailure("ValidationException", "request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return text === "" ? {} : (JSON.parse(text) as unknown);
  } catch {
    throw new DataApiFailure("ValidationException", "request body is not JSON");
  }
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(text),
    ...(errorType === undefined ? {} : { "x-amzn-errortype": errorType }),
  });
  res.end(text);
}

export async function startLocalRedshift(options: LocalRedshiftOptions): Promise<LocalRedshift> {
  let testHook: StatementHook | undefined;
  const hook = chainHooks(
    (session, statement, database) => testHook?.(session, statement, database) ?? Promise.resolve(undefined),
    redshiftRules(),
    options.s3 === undefined ? undefined : copyFromS3(options.s3),
  );
  const backend: SqlEngine = options.postgresUrl === undefined ? new PgliteEngine(options.dataDir, hook) : new PostgresBackend(options.postgresUrl, hook);
  const store = new StatementStore(backend, options.pageRows);
  const identities = options.identities ?? new LocalIdentities();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const accessKey = signingAccessKey(req.headers.authorization);
      if ((req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
        const answer = await answerSts(identities, accessKey, serviceIdentity(req), new URLSearchParams(await readText(req)));
        res.writeHead(answer.status, { "content-type": "text/xml", "content-length": Buffer.byteLength(answer.body) });
        res.end(answer.body);
        return;
      }
      const target = /^RedshiftData\.(\w+)$/.exec(String(req.headers["x-amz-target"] ?? ""));
      if (req.method !== "POST" || target === null)
        throw new DataApiFailure("ValidationException", "expected POST with X-Amz-Target: RedshiftData.<Operation>");
      const caller = identities.caller(accessKey, serviceIdentity(req));
      send(res, 200, await operate(store, identities, caller, target[1] ?? "", parseJson(await readText(req))));
    } catch (error) {
      const failure =
        error instanceof DataApiFailure
          ? error
          : error instanceof StsFailure || error instanceof AccessDenied
            ? new DataApiFailure("AccessDeniedException", error.message)
            : new DataApiFailure("InternalServerException", String(error));
      send(res, failure.status, { __type: failure.type, message: failure.message }, failure.type);
    }
  };
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    store,
    identities,
    setStatementHook(next) {
      testHook = next;
    },
    async prepare(databases) {
      await Promise.all(
        databases.map(async (database) => {
          await backend.prepare?.(database);
        }),
      );
    },
    async close() {
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      await store.settle();
      await backend.close();
    },
  };
}
