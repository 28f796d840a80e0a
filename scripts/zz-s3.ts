import { startLocalS3 } from "#local/s3/server.ts";
const server = await startLocalS3({ rootDir: "/tmp/zzs3", buckets: ["bench-staging"], port: 47123 });
console.log(server.endpoint);
setInterval(() => {}, 1e9);
