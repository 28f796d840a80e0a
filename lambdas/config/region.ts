/**
 * A target must be in the stack's own Region: COPY reads the staging bucket (the stack's) only in the warehouse's
 * Region, and the stack's grants and endpoints (VPC endpoints, the Data API's) are its Region's. A target elsewhere is
 * refused at synth and by `mrsync config validate`.
 */
import path from "node:path";
import type { ResolvedPipeline } from "./resolve.ts";

export type RegionProblem = { file: string; yamlPath: string; problem: string };

/** The targets the pipelines use whose `region` is not `stackRegion`, each once, with the file and YAML path. */
export function targetRegionProblems(configDir: string, pipelines: readonly ResolvedPipeline[], stackRegion: string): RegionProblem[] {
  const seen = new Set<string>();
  const problems: RegionProblem[] = [];
  for (const pipeline of pipelines) {
    const region = pipeline.target.region;
    if (region === undefined || region === stackRegion || seen.has(pipeline.targetName)) continue;
    seen.add(pipeline.targetName);
    problems.push({
      file: path.join(configDir, "connections.yml"),
      yamlPath: `targets.${pipeline.targetName}.region`,
      problem:
        `${region} is not the stack's Region (${stackRegion}): Step Functions reaches the Data API only in its own Region and COPY needs the ` +
        `staging bucket in the warehouse's. Deploy the stack to ${region} for this target, or remove the key`,
    });
  }
  return problems;
}

/** The Region a stack deploys to as `cdk deploy` picks it from the environment, and which variable said so. */
export function deployRegion(env: Readonly<Record<string, string | undefined>>): { region: string; from: string } | undefined {
  for (const name of ["CDK_DEFAULT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"]) {
    const region = env[name];
    if (region !== undefined && region !== "") return { region, from: name };
  }
  return undefined;
}
