/**
 * The local Redshift Data API endpoint, driven by the production adapter (@aws-sdk/client-redshift-data, endpoint
 * configuration only) and by the AWS CLI: statement lifecycle, typed results with pagination, batches as one
 * transaction, named parameters, ClientToken idempotency, cancellation and the API's errors.
 */
import {
  RedshiftDataClient,
  ResourceNotFoundException,
  ValidationException,
  ExecuteStatementCommand,
  DescribeStatementCommand,
} from "@aws-sdk/client-redshift-data";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedshiftData, redactSql, redshiftDataClientConfig, RedshiftStatementError } from "#adapters/redshift-data.ts";
import { startLocalRedshift, type LocalRedshift } from "#local/redshift/server.ts";
import { aws, withAwsCli } from "../../../support/aws-cli.ts";
import { MYSQL_URL } from "../../../support/extraction.ts";
import { createPgDatabase, PG_URL } from "../../../support/postgres.ts";

const DATABASE = "mrsync_test_data_api";

/** Both engines: a PostgreSQL server (tests, CI) and embedded PGlite (the default without PG_URL). */
describe.each([
  ["PostgreSQL", PG_URL],
  ["PGlite", undefined],
] as const)("local Redshift Data API on %s", (engine, postgresUrl) => {
  let server: LocalRedshift;
  let database: Awaited<ReturnType<typeof createPgDatabase>> | undefined;
  let client: RedshiftDataClient;
  let redshift: RedshiftData;

  beforeAll(async () => {
    if (postgresUrl !== undefined) database = await createPgDatabase(DATABASE);
    server = await startLocalRedshift({ ...(postgresUrl === undefined ? {} : { postgresUrl }), pageRows: 10 });
    client = new RedshiftDataClient({
      ...redshiftDataClientConfig({ region: "us-east-1" }, { AWS_ENDPOINT_URL_REDSHIFT_DATA: server.endpoint }),
      credentials: { accessKeyId: "local", secretAccessKey: "local-secret" },
    });
    redshift = new RedshiftData(client, { workgroup_name: "local", database: DATABASE, schema: "public" });
  });
  afterAll(async () => {
    client.destroy();
    await server.close();
    await database?.drop();
  });

  describe("with the SDK", () => {
    it("runs Redshift DDL and returns every type as the Data API's typed fields", async () => {
      await redshift.query(
        `CREATE TABLE IF NOT EXISTS typed (
         id BIGINT IDENTITY(1,1), n INTEGER ENCODE az64, amount DECIMAL(38,10), ok BOOLEAN, note VARCHAR(100),
         at TIMESTAMP, day DATE, raw VARBYTE(16), loaded_at TIMESTAMP DEFAULT GETDATE()
       ) DISTSTYLE KEY DISTKEY(n) COMPOUND SORTKEY(at, n)`,
      );
      await redshift.query(
        `INSERT INTO typed (n, amount, ok, note, at, day, raw) VALUES
       (7, 1234567890123456789012345678.1234567890, true, 'héllo 😀', '2025-01-02 03:04:05.123456', '1969-07-20', '\\x00ff'::varbyte),
       (NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
      );
      const { columns, rows } = await redshift.query("SELECT id, n, amount, ok, note, at, day, raw FROM typed ORDER BY id");
      expect(columns).toEqual(["id", "n", "amount", "ok", "note", "at", "day", "raw"]);
      expect(rows[0]).toEqual([
        1,
        7,
        "1234567890123456789012345678.1234567890",
        true,
        "héllo 😀",
        "2025-01-02 03:04:05.123456",
        "1969-07-20",
        new Uint8Array([0, 255]),
      ]);
      expect(rows[1]).toEqual([2, null, null, null, null, null, null, null]);
    });

    it("computes CRC32 as Redshift does (CRC-32C of the UTF-8 bytes, 8 hex digits), equal to MariaDB's CRC32C", async () => {
      // Redshift's documented example first; then what reconcile's row texts hold: separators, accents, emoji, long text.
      const texts = ["Amazon Redshift", "", "a", "é||x|2|0", "K 👩‍👧|1|2026-02-04", "x".repeat(5_000)];
      const { rows } = await redshift.query(`SELECT ${texts.map((t) => `CRC32('${t}')`).join(", ")}`);
      const mariadb = await mysql.createConnection({ uri: MYSQL_URL, charset: "utf8mb4" });
      const [expected] = await mariadb.query({
        sql: `SELECT ${texts.map(() => "LPAD(LOWER(HEX(CRC32C(?))), 8, '0')").join(", ")}`,
        values: texts,
        rowsAsArray: true,
      });
      await mariadb.end();
      expect(rows[0]?.[0]).toBe("f2726906");
      expect(rows[0]).toEqual((expected as string[][])[0]);
    });

    it("pages results with NextToken", async () => {
      const { rows } = await redshift.query("SELECT generate_series(1, 25) AS n");
      expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    });

    it("runs a batch as one transaction: a failing statement rolls back the others, and the error names it", async () => {
      const id = await redshift.submit(["CREATE TABLE batch_t (a INT)", "INSERT INTO batch_t VALUES (1)", "INSERT INTO no_such_table VALUES (1)"]);
      const failure = await redshift.wait(id).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(RedshiftStatementError);
      expect((failure as Error).message).toMatch(
        /FAILED: ERROR: relation "no_such_table" does not exist \(statement 3: INSERT INTO no_such_table VALUES \(1\)\)/,
      );
      const state = await client.send(new DescribeStatementCommand({ Id: id }));
      expect(state.SubStatements?.map((s) => s.Status)).toEqual(["FINISHED", "FINISHED", "FAILED"]);
      const { rows } = await redshift.query("SELECT count(*) FROM pg_tables WHERE tablename = 'batch_t'");
      expect(rows).toEqual([[0]]);
    });

    it("refuses, as Redshift does, to change the type of a primary-key or unique column; other columns widen", async () => {
      await redshift.query("CREATE TABLE keyed (code VARCHAR(8) NOT NULL, label VARCHAR(8), ref VARCHAR(8) UNIQUE, PRIMARY KEY (code))");
      await expect(redshift.query('ALTER TABLE "public"."keyed" ALTER COLUMN "code" TYPE VARCHAR(32)')).rejects.toThrow(
        /ALTER TABLE ALTER COLUMN TYPE cannot alter column "code": it is part of a primary key constraint/,
      );
      await expect(redshift.query("ALTER TABLE keyed ALTER COLUMN ref TYPE VARCHAR(32)")).rejects.toThrow(/"ref": it is part of a unique constraint/);
      await redshift.query('ALTER TABLE "public"."keyed" ALTER COLUMN "label" TYPE VARCHAR(32)');
      const { rows } = await redshift.query(
        "SELECT character_maximum_length FROM information_schema.columns WHERE table_name = 'keyed' ORDER BY ordinal_position",
      );
      expect(rows.map((r) => Number(r[0]))).toEqual([8, 32, 8]);
    });

    it("binds named parameters", async () => {
      const { rows } = await redshift.query("SELECT :who || '!' AS greeting, :n::int + 1 AS next", { who: "O'Brien", n: "41" });
      expect(rows).toEqual([["O'Brien!", 42]]);
    });

    it("returns the first statement for a repeated ClientToken instead of running it again", async () => {
      await redshift.query("CREATE TABLE tokens (a INT)");
      const first = await redshift.submit("INSERT INTO tokens VALUES (1)", { clientToken: "load-42" });
      await redshift.wait(first);
      const second = await redshift.submit("INSERT INTO tokens VALUES (1)", { clientToken: "load-42" });
      expect(second).toBe(first);
      expect((await redshift.query("SELECT count(*) FROM tokens")).rows).toEqual([[1]]);
    });

    it("cancels a running statement (PGlite runs statements synchronously: there is never one left to cancel)", async () => {
      const sql = engine === "PostgreSQL" ? "SELECT pg_sleep(10)" : "SELECT 1";
      const id = await redshift.submit(sql);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const cancelled = await redshift.cancel(id).catch((error: unknown) => (error as Error).message);
      const ended = await redshift.wait(id).then(
        (state) => state.status,
        (error: unknown) => (error as Error).message,
      );
      const observed = [
        cancelled === true ? "cancelled" : /already in FINISHED state/.test(String(cancelled)) ? "already finished" : String(cancelled),
        /ABORTED/.test(ended) ? "ABORTED" : ended,
      ];
      expect(observed).toEqual(engine === "PostgreSQL" ? ["cancelled", "ABORTED"] : ["already finished", "FINISHED"]);
    });

    it("answers with the Data API's exceptions", async () => {
      await expect(redshift.describe("00000000-0000-0000-0000-000000000000")).rejects.toBeInstanceOf(ResourceNotFoundException);
      await expect(
        client.send(new ExecuteStatementCommand({ Sql: "SELECT 1", Database: DATABASE, WorkgroupName: "a", ClusterIdentifier: "b" })),
      ).rejects.toBeInstanceOf(ValidationException);
    });

    it("redacts credentials in SQL it reports", () => {
      expect(redactSql("COPY t FROM 's3://b/k' CREDENTIALS 'aws_access_key_id=AKIA;aws_secret_access_key=abc' FORMAT AS PARQUET")).toBe(
        "COPY t FROM 's3://b/k' CREDENTIALS '***' FORMAT AS PARQUET",
      );
      expect(redactSql("CREATE USER u PASSWORD 'Secret1!'")).toBe("CREATE USER u PASSWORD '***'");
    });
  });

  describe.runIf(withAwsCli)("with the AWS CLI", () => {
    const cli = async (args: string[]) => JSON.parse((await aws(server.endpoint, ["redshift-data", ...args])).stdout) as Record<string, unknown>;

    it("executes, describes, fetches results and lists statements", async () => {
      const { Id } = (await cli([
        "execute-statement",
        "--database",
        DATABASE,
        "--workgroup-name",
        "local",
        "--sql",
        "SELECT 1 AS one, 'x' AS two",
        "--statement-name",
        "cli-check",
      ])) as { Id: string };
      let status = "";
      for (let i = 0; i < 50 && status !== "FINISHED"; i++) {
        status = String((await cli(["describe-statement", "--id", Id])).Status);
        if (status !== "FINISHED") await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toBe("FINISHED");
      const result = await cli(["get-statement-result", "--id", Id]);
      expect(result.Records).toEqual([[{ longValue: 1 }, { stringValue: "x" }]]);
      const listed = (await cli(["list-statements", "--statement-name", "cli-check"])) as { Statements: { Id: string }[] };
      expect(listed.Statements.map((s) => s.Id)).toContain(Id);
    });
  });
});
