/** The CDK app: `npx cdk synth` / `npx cdk deploy`. Reads and validates config/ first. */
import path from "node:path";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { loadConfig } from "#config/loader.ts";
import { SyncStack } from "../lib/sync-stack.ts";

const configDir = process.env.MRSYNC_CONFIG_DIR ?? path.join(import.meta.dirname, "..", "config");
const { pipelines, connections } = await loadConfig(configDir);

const app = new App();
// The completion buckets the pipelines name are created (and owned) by this stack unless they exist already:
// `cdk deploy -c mrsync:ownCompletionBuckets=false` then only grants writes to them.
const ownCompletionBuckets = app.node.tryGetContext("mrsync:ownCompletionBuckets") !== "false";
// `-c mrsync:createCopyRole=true`: the stack creates Redshift's COPY role for targets without copy_role_arn.
const createCopyRole = app.node.tryGetContext("mrsync:createCopyRole") === "true";
// `-c mrsync:operatorRoleArns=<arn,…>`: the operators' roles, trusted by the warehouse role (README, Operators).
const operatorRoleArns = String(app.node.tryGetContext("mrsync:operatorRoleArns") ?? "")
  .split(",")
  .map((arn) => arn.trim())
  .filter((arn) => arn !== "");
new SyncStack(app, "MysqlRedshiftSync", {
  pipelines,
  configDir,
  createCopyRole,
  operatorRoleArns,
  network: connections.network,
  ownedCompletionBuckets: ownCompletionBuckets ? [...new Set(pipelines.flatMap((p) => (p.completionBucket === undefined ? [] : [p.completionBucket])))] : [],
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: "mysql-redshift-sync: incremental MySQL -> S3 (Parquet) -> Redshift",
});
// cdk-nag runs as a validation plugin: a finding fails synth unless acknowledged with a written reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
