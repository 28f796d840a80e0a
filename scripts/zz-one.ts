import { execFileSync } from "node:child_process";
import { startBenchS3 } from "./bench-source.ts";
const extra = process.argv.slice(2);
const s3 = await startBenchS3();
try {
  const out = execFileSync(process.execPath, [...process.execArgv, ...extra, "scripts/bench-extract.ts", "--phase", "extract", "--rows", "1000000", "--batch", "100000", "--endpoint", s3.endpoint], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const lines = out.trim().split("\n");
  for (const l of lines.filter((l) => l.includes("Scavenge"))) console.log(l.slice(0, 200));
  console.log(lines.filter((l) => l.includes("Scavenge") || l.includes("Mark")).length, "gc lines;", lines.filter((l) => l.includes("Scavenge")).length, "scavenges;", lines.filter((l) => l.includes("Mark-Compact") || l.includes("Mark-sweep")).length, "mark");
  console.log(lines.at(-1));
} finally { await s3.stop(); }
