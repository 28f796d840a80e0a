/** The CDK app: `npx cdk synth` / `npx cdk deploy`. Reads and validates config/ first. */
import path from "node:path";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { loadConfig } from "#config/loader.ts";
import { SyncStack } from "../lib/sync-stack.ts";

const configDir = process.env.MRSYNC_CONFIG_DIR ?? path.join(import.meta.dirname, "..", "config");
const { pipelines } = await loadConfig(configDir);

const app = new App();
new SyncStack(app, "MysqlRedshiftSync", {
  pipelines,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: "mysql-redshift-sync: incremental MySQL -> S3 (Parquet) -> Redshift",
});
// cdk-nag runs as a validation plugin: a finding fails synth unless acknowledged with a written reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
