/**
 * End-to-end fixture: the real ASL run by the local runner with the real handlers, configured only through the
 * environment a deployed function gets (config dir, SDK endpoints) — a test database in MariaDB, a local S3 with
 * the staging and completion buckets, and the local Redshift Data API on a fresh Postgres database.
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { S3Store } from "#adapters/s3.ts";
import { WAREHOUSE_ROLE_ENV } from "#adapters/redshift-data.ts";
import { iamRoleDatabaseUser } from "#domain/warehouse-grants.ts";
import { LOCAL_WAREHOUSE_ROLE_ARN, LocalStateMachine, realHandlers, type ExecutionRecord, type LambdaHandler } from "#local/stepfunctions/runner.ts";
import { LocalIdentities } from "#local/redshift/identities.ts";
import { StackAuthorizer } from "#local/iam/authorizer.ts";
import { synthesizeStackIam } from "#local/iam/stack-iam.ts";
import { LOCAL_OPERATOR_ROLE_ARN } from "#local/endpoints.ts";
import { createDatabase, MYSQL_URL, type TestDatabase } from "./extraction.ts";
import { startTestS3, TEST_CREDENTIALS, type LocalS3Fixture } from "./local-s3.ts";
import { applyGrants, testPipeline, useWarehouseFixture, type WarehouseFixture } from "./warehouse.ts";

export const STAGING = "staging";
export const COMPLETION = "completion";

/** What a pipeline fixture needs of an S3 server: the project's stand-in (default) or another, e.g. moto's. */
export type S3Fixture = { endpoint: string; store: S3Store; stop(): Promise<void> };

export type PipelineFixture<S extends S3Fixture = LocalS3Fixture> = {
  s3: S;
  db: TestDatabase;
  warehouse: WarehouseFixture;
  configDir: string;
  /** Who holds which key, and the stack's IAM the stand-ins enforce (synthesized from `configDir`). */
  identities: LocalIdentities;
  handlers: Record<string, LambdaHandler>;
  /** A config changed (another pipeline file): the stack deployed for it, as `cdk deploy` would (its IAM re-synthesized). */
  redeploy(): Promise<void>;
  /** Runs one execution of the real ASL (handlers replaceable for fault injection). */
  run(input: unknown, overrides?: Record<string, LambdaHandler>): Promise<ExecutionRecord>;
};

function connectionsYaml(database: string): string {
  const url = new URL(MYSQL_URL);
  return `
sources:
  test_mysql:
    host: "${url.hostname}"
    port: ${url.port || "3306"}
    database: ${database}
    username: "${decodeURIComponent(url.username) || "root"}"
    password: "${decodeURIComponent(url.password)}"
targets:
  test_redshift: { workgroup_name: local, database: ${database}, schema: public, copy_role_arn: "arn:aws:iam::000000000000:role/copy" }
staging:
  test_staging: { bucket: ${STAGING}, prefix: incremental/ }
`;
}

/**
 * Registers the file's hooks. `pipelineYaml` is a whole pipeline file (source test_mysql, target test_redshift, staging
 * test_staging); `startS3` another S3 server to run against (default: the project's local S3).
 */
export function usePipelineFixture(database: string, pipelineYaml: () => string): PipelineFixture;
export function usePipelineFixture<S extends S3Fixture>(
  database: string,
  pipelineYaml: () => string,
  startS3: (buckets: string[], identities: LocalIdentities) => Promise<S>,
): PipelineFixture<S>;
export function usePipelineFixture(
  database: string,
  pipelineYaml: () => string,
  startS3: (buckets: string[], identities: LocalIdentities) => Promise<S3Fixture> = startTestS3,
): PipelineFixture<S3Fixture> {
  const fixture = {} as PipelineFixture<S3Fixture>;
  // One registry for the S3 and Data API stand-ins: the sessions STS issues, and the stack's IAM they enforce.
  const identities = new LocalIdentities();
  fixture.identities = identities;
  beforeAll(async () => {
    fixture.s3 = await startS3([STAGING, COMPLETION], identities);
    fixture.db = await createDatabase(database);
  });
  fixture.warehouse = useWarehouseFixture(database, () => fixture.s3.store, identities);
  beforeAll(async () => {
    fixture.configDir = await mkdtemp(path.join(tmpdir(), "mrsync-config-"));
    await mkdir(path.join(fixture.configDir, "pipelines"));
    await writeFile(path.join(fixture.configDir, "connections.yml"), connectionsYaml(database));
    await writeFile(path.join(fixture.configDir, "pipelines", "test.yml"), pipelineYaml());
    // What the Lambda construct sets, pointed at the stand-ins; set before the handlers create their clients.
    Object.assign(process.env, {
      MRSYNC_CONFIG_DIR: fixture.configDir,
      AWS_ENDPOINT_URL_S3: fixture.s3.endpoint,
      AWS_ENDPOINT_URL_REDSHIFT_DATA: fixture.warehouse.server.endpoint,
      // The functions submit as the warehouse role (a session from the local STS), as the stack configures them.
      AWS_ENDPOINT_URL_STS: fixture.warehouse.server.endpoint,
      [WAREHOUSE_ROLE_ENV]: LOCAL_WAREHOUSE_ROLE_ARN,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_REGION: "us-east-1",
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    // The stack's IAM for this config, as `cdk synth` writes it: from here on every call is allowed or refused by it.
    fixture.redeploy = async () => {
      identities.iam = new StackAuthorizer(await synthesizeStackIam({ configDir: fixture.configDir, operatorRoleArns: [LOCAL_OPERATOR_ROLE_ARN] }));
    };
    await fixture.redeploy();
    fixture.handlers = await realHandlers();
    // One administrator: runs started together must not GRANT at once (Postgres: "tuple concurrently updated").
    let granting: Promise<void> = Promise.resolve();
    fixture.run = async (input, overrides = {}) => {
      // What `mrsync grants` prints, run by the administrator (the fixture's own key) before each run: tables a test
      // created as the administrator are handed to the warehouse user as the script says.
      granting = granting
        .catch(() => undefined)
        .then(async () => {
          await applyGrants(fixture.warehouse.redshift, await testPipeline(fixture.configDir), iamRoleDatabaseUser(LOCAL_WAREHOUSE_ROLE_ARN));
        });
      await granting;
      return new LocalStateMachine({ handlers: { ...fixture.handlers, ...overrides }, iam: identities.iam }).startExecution(input);
    };
  });
  afterAll(async () => {
    await rm(fixture.configDir, { recursive: true, force: true });
    await fixture.db.drop();
    await fixture.s3.stop();
  });
  return fixture;
}
