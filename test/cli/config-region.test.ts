/**
 * `mrsync config validate` refuses a target in another Region than the stack's (Step Functions reaches the Data API
 * only in its own Region; COPY needs the bucket in the warehouse's), naming the file, the key, and where the stack's
 * Region was taken from.
 */
import { cp, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.ts";

let configDir: string;
beforeAll(async () => {
  configDir = await mkdtemp(path.join(tmpdir(), "mrsync-region-cli-"));
  await cp(path.join(import.meta.dirname, "..", "..", "config"), configDir, { recursive: true });
  const connections = await readFile(path.join(configDir, "connections.yml"), "utf8");
  await writeFile(path.join(configDir, "connections.yml"), connections.replace(/(targets:\n\s+\w+:\n)/, "$1    region: eu-west-1\n"));
});

const env = (region: string) => {
  const rest = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(CDK_DEFAULT_REGION|AWS_REGION|AWS_DEFAULT_REGION|AWS_ENDPOINT_URL_STS)$/.test(name)),
  );
  return { ...rest, AWS_REGION: region };
};

describe("config validate and the target's Region", () => {
  it("refuses a target outside the stack's Region, naming file, key and the variable the Region came from", async () => {
    const refused = await runCli(configDir, ["config", "validate"], env("us-east-1"));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("taken from AWS_REGION: give --region <deploy Region> if it deploys elsewhere");
    expect(refused.stderr).toMatch(/connections\.yml: targets\.\w+\.region: eu-west-1 is not the stack's Region \(us-east-1\)/);
  });

  it("accepts it where the stack deploys to that Region", async () => {
    const ok = await runCli(configDir, ["config", "validate", "--region", "eu-west-1"], env("us-east-1"));
    expect(ok.code, ok.stderr).toBe(0);
  });
});
