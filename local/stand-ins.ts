/**
 * The local stand-ins over one data folder (`.mrsync/` by default): the S3 server (objects under `s3/`) and the
 * Redshift Data API endpoint on embedded PGlite (database files under `redshift/`). `npm run demo` and
 * `npm run local` both use it; the environment it returns is what a deployed function gets from the stack,
 * pointed at loopback.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { RedshiftDataClient } from "@aws-sdk/client-redshift-data";
import { S3Client } from "@aws-sdk/client-s3";
import { redshiftDataClientConfig, WAREHOUSE_ROLE_ENV } from "#adapters/redshift-data.ts";
import { s3ClientConfig, S3Store } from "#adapters/s3.ts";
import { startLocalRedshift, type LocalRedshift } from "./redshift/server.ts";
import { startLocalS3, type LocalS3 } from "./s3/server.ts";
import { LOCAL_WAREHOUSE_ROLE_ARN } from "./redshift/identities.ts";
import { LOCAL_CREDENTIALS, LOCAL_OPERATOR_ROLE_ARN, LOCAL_PORTS } from "./endpoints.ts";
import { LocalIdentities } from "./redshift/identities.ts";
import { StackAuthorizer } from "./iam/authorizer.ts";
import { synthesizeStackIam } from "./iam/stack-iam.ts";
import { loadConfig } from "#config/loader.ts";

export { LOCAL_CREDENTIALS, LOCAL_PORTS };

export const DEFAULT_DATA_DIR = path.join(import.meta.dirname, "..", ".mrsync");

export type StandInOptions = {
  dataDir?: string;
  buckets: readonly string[];
  s3Port?: number;
  redshiftPort?: number;
  /** postgres://… : the warehouse on that PostgreSQL server instead of embedded PGlite under the data folder. */
  postgresUrl?: string;
  /**
   * The config the stack would be deployed with: its IAM (synthesized, bundling skipped) is enforced by the S3, STS
   * and Data API stand-ins — every call allowed or refused as AWS would. Without it nothing is evaluated.
   */
  configDir?: string;
};

export type StandIns = {
  dataDir: string;
  s3: LocalS3;
  redshift: LocalRedshift;
  store: S3Store;
  redshiftClient: RedshiftDataClient;
  /** Who holds which key, and the stack's IAM when enforced (give it to the local runner too). */
  identities: LocalIdentities;
  /** The variables that point the SDK (and the AWS CLI) at the stand-ins. */
  env: Record<string, string>;
  close(): Promise<void>;
};

/** Refuses a second process on the same folder: PGlite's files are not safe to share between processes. */
async function lock(dataDir: string): Promise<string> {
  const file = path.join(dataDir, "stand-ins.pid");
  const holder = Number(await readFile(file, "utf8").catch(() => ""));
  if (holder > 0 && holder !== process.pid) {
    let alive = true;
    try {
      process.kill(holder, 0);
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`${dataDir} is in use by process ${holder} (npm run local or demo); stop it first`);
  }
  await writeFile(file, String(process.pid));
  return file;
}

export async function startStandIns(options: StandInOptions): Promise<StandIns> {
  const dataDir = path.resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  await mkdir(path.join(dataDir, "redshift"), { recursive: true });
  const pidFile = await lock(dataDir);
  const identities = new LocalIdentities();
  const s3 = await startLocalS3({ rootDir: path.join(dataDir, "s3"), port: options.s3Port ?? 0, buckets: options.buckets, identities });
  const s3Client = new S3Client({ ...s3ClientConfig({ AWS_ENDPOINT_URL_S3: s3.endpoint }), region: "us-east-1", credentials: LOCAL_CREDENTIALS });
  const store = new S3Store(s3Client);
  const redshift = await startLocalRedshift({
    ...(options.postgresUrl === undefined ? { dataDir: path.join(dataDir, "redshift") } : { postgresUrl: options.postgresUrl }),
    s3: store,
    port: options.redshiftPort ?? 0,
    identities,
  });
  // The stack's IAM (a synth, ~2.5 s) while the warehouse's databases start (embedded PGlite: ~1.5 s each on a new
  // folder): neither then falls on the first table's steps. No request reaches the stand-ins before both are done.
  const configDir = options.configDir;
  if (configDir !== undefined) {
    const databases = [...new Set((await loadConfig(configDir)).pipelines.map((p) => p.target.database))];
    await Promise.all([
      synthesizeStackIam({ configDir, operatorRoleArns: [LOCAL_OPERATOR_ROLE_ARN] }).then((model) => {
        identities.iam = new StackAuthorizer(model);
      }),
      redshift.prepare(databases),
    ]);
  }
  const redshiftClient = new RedshiftDataClient({
    ...redshiftDataClientConfig({ region: "us-east-1" }, { AWS_ENDPOINT_URL_REDSHIFT_DATA: redshift.endpoint }),
    credentials: LOCAL_CREDENTIALS,
  });
  return {
    dataDir,
    s3,
    redshift,
    store,
    redshiftClient,
    identities,
    env: {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_REDSHIFT_DATA: redshift.endpoint,
      AWS_ENDPOINT_URL_STS: redshift.endpoint,
      [WAREHOUSE_ROLE_ENV]: LOCAL_WAREHOUSE_ROLE_ARN,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_REGION: "us-east-1",
      // The AWS CLI v1 reads the region from here.
      AWS_DEFAULT_REGION: "us-east-1",
    },
    async close() {
      redshiftClient.destroy();
      s3Client.destroy();
      await redshift.close();
      await s3.close();
      await rm(pidFile, { force: true });
    },
  };
}

export async function cleanDataDir(dataDir = DEFAULT_DATA_DIR): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
}
