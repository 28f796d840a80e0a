import { fork } from "node:child_process";
const s3 = fork(new URL("./bench-s3-server.ts", import.meta.url).pathname, ["/tmp/s3b", "bench-staging"]);
s3.once("message", (m) => { console.log(m); });
