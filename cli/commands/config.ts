/** `mrsync config list-pipelines|validate|show -p P` */
import path from "node:path";
import type { Command } from "commander";
import type { ResolvedPipeline } from "#config/resolve.ts";
import { checkSources } from "#services/check-sources.ts";
import { deployRegion, targetRegionProblems } from "#config/region.ts";
import { CliError, EXIT, type Output } from "../output.ts";
import { config, pipeline } from "../tables.ts";

const tableLine = (t: ResolvedPipeline["tables"][number]) => `${t.key} [${t.cdc_strategy}] -> ${t.targetName}`;

/** The effective settings of a pipeline's tables (pipeline defaults merged), without connection secrets. */
function effective(p: ResolvedPipeline) {
  return {
    name: p.name,
    file: p.file,
    schedule: p.schedule ?? null,
    source: p.sourceName,
    target: p.targetName,
    staging: { name: p.stagingName, bucket: p.staging.bucket ?? "(the stack's bucket)", prefix: p.staging.prefix },
    s3: p.s3,
    completion_bucket: p.completionBucket ?? null,
    max_parallel_tables: p.maxParallelTables,
    tables: Object.fromEntries(
      p.tables.map(({ key, sourceSchema, sourceTable, ...settings }) => [key, { source: `${sourceSchema}.${sourceTable}`, ...settings }]),
    ),
  };
}

export function configCommands(program: Command, output: () => Output): void {
  const group = program.command("config").description("inspect and validate config/ (connections.yml, pipelines/*.yml)");
  group
    .command("list-pipelines")
    .description("the pipelines and their tables")
    .action(async () => {
      const out = output();
      const { pipelines } = await config(out.options.configDir);
      out.result(
        pipelines.map((p) => ({ name: p.name, file: p.file, schedule: p.schedule ?? null, tables: p.tables.map((t) => t.key) })),
        () =>
          pipelines
            .map(
              (p) =>
                `${p.name}  (${path.relative(process.cwd(), p.file)})${p.schedule === undefined ? "" : `  schedule ${p.schedule}`}\n${p.tables.map((t) => `  ${tableLine(t)}`).join("\n")}`,
            )
            .join("\n"),
      );
    });
  group
    .command("validate")
    .description("validate every file; exit 2 listing each problem with file, line and YAML path")
    .option(
      "--check-sources",
      "also connect to each pipeline's source and refuse what would lose rows (a cursor no unique NOT NULL index covers, …), reading no rows",
    )
    .option("-p, --pipeline <name>", "with --check-sources: only this pipeline")
    .option("--region <region>", "the Region the stack deploys to (default: CDK_DEFAULT_REGION, AWS_REGION, AWS_DEFAULT_REGION): a target elsewhere is refused")
    .action(async (options: { checkSources?: boolean; pipeline?: string; region?: string }) => {
      const out = output();
      const { pipelines } = await config(out.options.configDir);
      const stack = options.region === undefined ? deployRegion(process.env) : { region: options.region, from: "--region" };
      const regionProblems = stack === undefined ? [] : targetRegionProblems(out.options.configDir, pipelines, stack.region);
      if (regionProblems.length > 0 && stack !== undefined) {
        const lines = regionProblems.map((p) => `  - ${path.relative(process.cwd(), p.file)}: ${p.yamlPath}: ${p.problem}`);
        const source = stack.from === "--region" ? "" : ` (the stack's Region taken from ${stack.from}: give --region <deploy Region> if it deploys elsewhere)`;
        throw new CliError(`Config refused: ${regionProblems.length} problem(s)${source}:\n${lines.join("\n")}`, EXIT.usage);
      }
      const ok = () => `ok: ${pipelines.length} pipeline(s): ${pipelines.map((p) => `${p.name} (${p.tables.length} tables)`).join(", ")}`;
      if (options.checkSources !== true) {
        out.result({ valid: true, pipelines: pipelines.map((p) => p.name) }, ok);
        return;
      }
      const checked = options.pipeline === undefined ? pipelines : [await pipeline(out.options.configDir, options.pipeline)];
      const { tables, problems, zones } = await checkSources(checked);
      if (problems.length > 0) {
        const lines = problems.map((p) => `  - ${path.relative(process.cwd(), p.file)}: ${p.yamlPath}: ${p.problem}`);
        throw new CliError(`Sources refuse ${problems.length} problem(s) (nothing was read):\n${lines.join("\n")}`);
      }
      out.result({ valid: true, pipelines: checked.map((p) => p.name), tables_checked: tables, source_zones: zones }, () =>
        [`${ok()}; ${tables} table(s) checked against their sources`, ...Object.entries(zones).map(([name, zone]) => `  source ${name}: ${zone}`)].join("\n"),
      );
    });
  group
    .command("show")
    .description("the effective (merged) settings of a pipeline's tables")
    .requiredOption("-p, --pipeline <name>", "pipeline name")
    .action(async (options: { pipeline: string }) => {
      const out = output();
      const shown = effective(await pipeline(out.options.configDir, options.pipeline));
      out.result(shown, () => JSON.stringify(shown, null, 2));
    });
}
