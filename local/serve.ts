/**
 * `npm run local [-- --config-dir DIR] [--postgres-url URL]`: the stand-ins on fixed loopback ports over the demo's
 * folder (`.mrsync/`), with every bucket the config's pipelines name, for exploring what the last demo or sync left —
 * with the AWS CLI, any SDK or `mrsync --local` — until Ctrl-C. The warehouse is embedded PGlite, or a PostgreSQL
 * server (`--postgres-url`; each Data API Database is a database there).
 */
import { parseArgs } from "node:util";
import { loadConfig } from "#config/loader.ts";
import { configDir } from "#services/environment.ts";
import { DEFAULT_DATA_DIR, LOCAL_PORTS, startStandIns } from "./stand-ins.ts";

const { values } = parseArgs({
  options: {
    "s3-port": { type: "string", default: String(LOCAL_PORTS.s3) },
    "redshift-port": { type: "string", default: String(LOCAL_PORTS.redshift) },
    "data-dir": { type: "string", default: DEFAULT_DATA_DIR },
    "config-dir": { type: "string", default: configDir() },
    "postgres-url": { type: "string" },
  },
});

const { pipelines } = await loadConfig(values["config-dir"]);
const buckets = [...new Set(pipelines.flatMap((p) => [p.staging.bucket, p.completionBucket].filter((b): b is string => b !== undefined)))];
const standIns = await startStandIns({
  dataDir: values["data-dir"],
  buckets,
  s3Port: Number(values["s3-port"]),
  redshiftPort: Number(values["redshift-port"]),
  // The stack's IAM for this config, enforced: the CLI (--local) is an operator, the functions their roles.
  configDir: values["config-dir"],
  ...(values["postgres-url"] === undefined ? {} : { postgresUrl: values["postgres-url"] }),
});
const exports = Object.entries(standIns.env)
  .map(([name, value]) => `${name}=${value}`)
  .join(" ");
const example = pipelines.find((p) => p.name === "demo") ?? pipelines[0];
const target = `--workgroup-name ${example?.target.workgroup_name ?? "local"} --database ${example?.target.database ?? "dev"}`;
console.log(`Local stand-ins over ${standIns.dataDir} (config ${values["config-dir"]}: ${pipelines.map((p) => p.name).join(", ")})
  S3:                 ${standIns.s3.endpoint}   buckets: ${buckets.join(", ")}
  Redshift Data API:  ${standIns.redshift.endpoint}   (${values["postgres-url"] === undefined ? "embedded PGlite" : values["postgres-url"].replace(/\/\/[^@]*@/, "//")})

In another shell:
  export ${exports}
  npx mrsync --local --config-dir ${values["config-dir"]} status
  aws s3 ls s3://${example?.staging.bucket ?? ""}/ --recursive | head
  id=$(aws redshift-data execute-statement ${target} --sql "select count(*) from information_schema.tables" --query Id --output text)
  aws redshift-data get-statement-result --id "$id"

Running; Ctrl-C stops.`);
process.once("SIGINT", () => {
  void standIns.close().then(() => process.exit(0));
});
