/**
 * cfn-lint (AWS's CloudFormation linter, an independent check no one here wrote) on the synthesized templates — the
 * demo config and the deployment example (VPC, secrets, schedules): no errors. Skipped, saying why, where cfn-lint is
 * not installed (.ci/run installs it).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { loadConfig } from "#config/loader.ts";
import { SyncStack } from "../../../lib/sync-stack.ts";

const exec = promisify(execFile);
const root = path.join(import.meta.dirname, "..", "..", "..");
const cfnLint = await exec("cfn-lint", ["--version"]).then(
  () => true,
  () => false,
);

type Finding = { Level: string; Rule: { Id: string }; Message: string; Location: { Path: unknown[] } };

async function templateOf(configDir: string): Promise<string> {
  const { pipelines, connections } = await loadConfig(path.join(root, configDir), {});
  // cdk.json's feature flags, as `cdk deploy` applies them.
  const flags = (JSON.parse(await readFile(path.join(root, "cdk.json"), "utf8")) as { context: Record<string, unknown> }).context;
  const app = new App({ outdir: path.join(root, "cdk.out", `lint-${String(process.pid)}`), context: { ...flags, "aws:cdk:bundling-stacks": [] } });
  const owned = [...new Set(pipelines.flatMap((p) => (p.completionBucket === undefined ? [] : [p.completionBucket])))];
  const stack = new SyncStack(app, "LintSync", {
    pipelines,
    configDir: path.join(root, configDir),
    configEnv: {},
    network: connections.network,
    ownedCompletionBuckets: owned,
  });
  const assembly = app.synth();
  const file = path.join(await mkdtemp(path.join(tmpdir(), "mrsync-cfn-")), "template.json");
  await writeFile(file, JSON.stringify(assembly.getStackByName(stack.stackName).template));
  return file;
}

// Where cfn-lint is absent the checks show as skipped, under a name that says why (the node-svc machine kind has it).
describe("cfn-lint on the synthesized templates (skipped where cfn-lint is not installed)", () => {
  it.skipIf(!cfnLint).each(["config", "config/examples"])(
    "%s: no errors",
    async (configDir) => {
      const file = await templateOf(configDir);
      // Exit codes are bit flags (2 errors, 4 warnings, 8 informational): read the findings instead.
      const { stdout } = await exec("cfn-lint", ["--format", "json", file]).catch((error: unknown) => ({ stdout: (error as { stdout: string }).stdout }));
      const findings = JSON.parse(stdout) as Finding[];
      const errors = findings.filter((f) => f.Level === "Error").map((f) => `${f.Rule.Id} ${f.Message} at ${f.Location.Path.join("/")}`);
      expect(errors).toEqual([]);
      // Warnings are CDK's own DependsOn beside a GetAtt (W3005); anything else is ours to look at.
      expect(findings.filter((f) => f.Level === "Warning" && f.Rule.Id !== "W3005").map((f) => `${f.Rule.Id} ${f.Message}`)).toEqual([]);
    },
    120_000,
  );
});
