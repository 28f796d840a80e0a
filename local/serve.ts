/**
 * `npm run local`: the stand-ins on fixed loopback ports over the demo's folder (`.mrsync/`), for exploring what
 * the last demo or sync left — with the AWS CLI or any SDK — until Ctrl-C.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { loadPipeline } from "#config/loader.ts";
import { DEFAULT_DATA_DIR, LOCAL_PORTS, startStandIns } from "./stand-ins.ts";

const { values } = parseArgs({
  options: {
    "s3-port": { type: "string", default: String(LOCAL_PORTS.s3) },
    "redshift-port": { type: "string", default: String(LOCAL_PORTS.redshift) },
    "data-dir": { type: "string", default: DEFAULT_DATA_DIR },
  },
});

const pipeline = await loadPipeline(path.join(import.meta.dirname, "..", "config"), "demo");
const buckets = [pipeline.staging.bucket, pipeline.completionBucket].filter((b): b is string => b !== undefined);
const standIns = await startStandIns({
  dataDir: values["data-dir"],
  buckets,
  s3Port: Number(values["s3-port"]),
  redshiftPort: Number(values["redshift-port"]),
});
const exports = Object.entries(standIns.env).map(([name, value]) => `${name}=${value}`).join(" ");
const target = `--workgroup-name ${pipeline.target.workgroup_name ?? "local"} --database ${pipeline.target.database}`;
console.log(`Local stand-ins over ${standIns.dataDir}
  S3:                 ${standIns.s3.endpoint}   buckets: ${buckets.join(", ")}
  Redshift Data API:  ${standIns.redshift.endpoint}   (embedded PGlite)

In another shell:
  export ${exports}
  aws s3 ls s3://${pipeline.staging.bucket ?? ""}/ --recursive | head
  aws s3 ls s3://${pipeline.completionBucket ?? ""}/completion_markers/ --recursive
  aws s3 cp s3://${pipeline.staging.bucket ?? ""}/${pipeline.s3.isolation_prefix}watermarks/v2/demo/mrsync_demo.settle_orders.json -
  id=$(aws redshift-data execute-statement ${target} --sql "select count(*) from public.settle_orders" --query Id --output text)
  aws redshift-data get-statement-result --id "$id"

Running; Ctrl-C stops.`);
process.once("SIGINT", () => {
  void standIns.close().then(() => process.exit(0));
});
