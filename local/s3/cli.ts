/**
 * Runs the local S3 stand-in until interrupted: `npm run local:s3 -- [--dir .local/s3] [--port 4569] [--bucket NAME]…`
 * Then point clients at it by endpoint only: AWS_ENDPOINT_URL_S3=http://127.0.0.1:4569
 */
import { parseArgs } from "node:util";
import { startLocalS3 } from "./server.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string", default: ".local/s3" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "4569" },
    bucket: { type: "string", multiple: true, default: [] },
    "log-events": { type: "boolean", default: false },
  },
});

const server = await startLocalS3({
  rootDir: values.dir,
  host: values.host,
  port: Number(values.port),
  buckets: values.bucket,
});
if (values["log-events"]) {
  server.events.on("objectCreated", (e) => {
    console.log(`${e.eventName} s3://${e.bucket}/${e.key} (${e.size} bytes)`);
  });
  server.events.on("objectRemoved", (e) => {
    console.log(`${e.eventName} s3://${e.bucket}/${e.key}`);
  });
}
console.log(`local S3 listening on ${server.endpoint}, objects in ${server.rootDir}`);
console.log(`  export AWS_ENDPOINT_URL_S3=${server.endpoint}`);
const stop = () => {
  server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
