/**
 * `npm run demo`: seeds the demo MySQL database and starts the local stand-ins with the buckets the demo
 * pipeline names, then waits (Ctrl-C stops). The pipeline run itself arrives with the extraction and loading work.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { loadPipeline } from "#config/loader.ts";
import { DEFAULT_MYSQL_URL, parseRowCount, seedDemo } from "./demo/seed.ts";
import { startLocalS3 } from "./s3/server.ts";

const { values } = parseArgs({
  options: {
    orders: { type: "string", default: "200000" },
    "s3-port": { type: "string", default: "4569" },
    "s3-dir": { type: "string", default: ".local/s3" },
    "no-wait": { type: "boolean", default: false },
  },
});

const root = path.join(import.meta.dirname, "..");
const pipeline = await loadPipeline(path.join(root, "config"), "demo");
const mysqlUrl = process.env.MYSQL_URL ?? DEFAULT_MYSQL_URL;

console.log(`1/2 seeding MySQL (${mysqlUrl.replace(/\/\/[^@]*@/, "//***@")})`);
const seeded = await seedDemo({ mysqlUrl, orders: parseRowCount("orders", values.orders), onProgress: (m) => { console.log(`    ${m}`); } });
console.log(`    ${seeded.database}: ${JSON.stringify(seeded.rows)}`);

const buckets = [pipeline.staging.bucket, pipeline.completionBucket].filter((b): b is string => b !== undefined);
const s3 = await startLocalS3({ rootDir: path.resolve(root, values["s3-dir"]), port: Number(values["s3-port"]), buckets });
console.log(`2/2 local S3 on ${s3.endpoint} (objects in ${s3.rootDir}), buckets: ${buckets.join(", ")}`);
console.log(`
Try it with the AWS CLI:
  export AWS_ENDPOINT_URL_S3=${s3.endpoint} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
  aws s3 ls
`);
if (values["no-wait"]) {
  await s3.close();
} else {
  console.log("Running; Ctrl-C stops.");
  process.once("SIGINT", () => {
    void s3.close().then(() => process.exit(0));
  });
}
