/** The benchmark's S3: the local S3 server in a process of its own; sends its endpoint to the parent. */
import { startLocalS3 } from "#local/s3/server.ts";

const [dir = "", bucket = ""] = process.argv.slice(2);
const server = await startLocalS3({ rootDir: dir, buckets: [bucket] });
process.send?.(server.endpoint);
process.on("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
