/** lambdas/config/loader.ts: the shipped configuration, the bad-config fixtures, and how problems are reported (file:line, YAML path). */
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, formatIssue } from "#config/errors.ts";
import { renderJsonSchema } from "#config/json-schema.ts";
import { loadConfig, loadPipeline, parseConnections, parsePipeline } from "#config/loader.ts";

const root = path.join(import.meta.dirname, "..", "..", "..", "..");
const fixtures = path.join(root, "test", "fixtures", "bad-config");
const demoConnections = async () => {
  const { connections } = await loadConfig(path.join(root, "config"), {});
  return connections;
};

/** Each fixture's first line: `# expect: <yaml path> @ <line> :: <message fragment>`. */
async function expectation(file: string) {
  const text = await readFile(file, "utf8");
  const match = /^# expect: (.*?) @ (\d+) :: (.*)$/m.exec(text);
  if (!match) throw new Error(`${file}: first line must be "# expect: <path> @ <line> :: <message>"`);
  return { text, yamlPath: match[1] ?? "", line: Number(match[2]), fragment: match[3] ?? "" };
}

describe("shipped configuration", () => {
  it("loads the demo config with table settings merged over pipeline defaults", async () => {
    const { pipelines } = await loadConfig(path.join(root, "config"), { DEMO_MYSQL_USER: "demo" });
    // The demo, and the smoke check's throwaway pipeline.
    expect(pipelines.map((p) => p.name)).toEqual(["demo", "smoke"]);
    const demo = pipelines[0]!;
    expect(demo.source).toMatchObject({ host: "127.0.0.1", port: 3306, username: "demo", password: "" });
    const coverage = demo.tables.find((t) => t.key === "mrsync_demo.type_coverage")!;
    expect(coverage.processing).toEqual({
      batch_size: 1000, // table override
      max_parallel_tables: 4,
      target_file_mb: 64, // pipeline default
      max_chunk_seconds: 120,
      parallel_ranges: "auto", // product defaults
      max_parallel_ranges: 4,
    });
    const orders = demo.tables.find((t) => t.key === "mrsync_demo.settle_orders")!;
    expect(orders.validation).toEqual({
      enable_data_quality_checks: true,
      max_null_percentage: 60,
      row_count_check: true, // product default
      content_checksum: true,
    });
    const merchants = demo.tables.find((t) => t.key === "mrsync_demo.merchants")!;
    expect(merchants).toMatchObject({ targetName: "merchants", full_sync_mode: "replace", sourceSchema: "mrsync_demo" });
  });

  it("loads the commented example pipeline with every strategy", async () => {
    const { pipelines } = await loadConfig(path.join(root, "config", "examples"), {});
    expect(pipelines.map((p) => p.name)).toEqual(["smoke", "us_dw_hybrid_v1_2"]);
    const example = pipelines[1]!;
    expect(example.name).toBe("us_dw_hybrid_v1_2");
    expect(example.schedule).toBe("cron(0 2 * * ? *)");
    expect(example.source.secret).toMatch(/^arn:aws:secretsmanager:/);
    expect(example.staging.bucket).toBeUndefined();
    expect(new Set(example.tables.map((t) => t.cdc_strategy))).toEqual(new Set(["hybrid", "id_only", "timestamp_only", "full_sync", "custom_sql"]));
    const orders = example.tables.find((t) => t.key === "settlement.settle_orders")!;
    expect(orders.processing.batch_size).toBe(100_000);
    expect(orders.validation.max_null_percentage).toBe(2);
    const ledger = example.tables.find((t) => t.key === "settlement.settle_ledger_entries")!;
    expect(ledger.processing.batch_size).toBe(200_000);
    expect(ledger.columns).toEqual({ internal_note: { exclude: true }, amt: "amount" });
    expect(example.tables.find((t) => t.key === "settlement.daily_fx_rates")!.targetName).toBe("fx_rates");
  });

  it("keeps config/schema/*.json equal to what the zod schemas generate (run npm run config:schema)", async () => {
    for (const name of ["connections.schema.json", "pipeline.schema.json"] as const) {
      const committed = await readFile(path.join(root, "config", "schema", name), "utf8");
      expect(committed, `config/schema/${name} is stale: run npm run config:schema`).toBe(renderJsonSchema(name));
    }
  });

  it("references the JSON Schemas from every shipped YAML file", async () => {
    const files = ["config/connections.yml", "config/pipelines/demo.yml", "config/examples/connections.yml", "config/examples/pipelines/us_dw_hybrid_v1_2.yml"];
    for (const file of files) {
      const first = (await readFile(path.join(root, file), "utf8")).split("\n")[0] ?? "";
      const schemaRef = /\$schema=(\S+)/.exec(first)?.[1];
      expect(schemaRef, file).toBeDefined();
      const schemaFile = path.resolve(path.dirname(path.join(root, file)), schemaRef!);
      const schema = JSON.parse(await readFile(schemaFile, "utf8")) as { $schema: string };
      expect(schema.$schema, file).toContain("json-schema.org");
    }
  });
});

describe("bad configuration files", async () => {
  const connections = await demoConnections();
  const pipelineFiles = (await readdir(path.join(fixtures, "pipelines"))).sort();
  const connectionFiles = (await readdir(path.join(fixtures, "connections"))).sort();

  it("has at least ten bad files", () => {
    expect(pipelineFiles.length + connectionFiles.length).toBeGreaterThanOrEqual(10);
  });

  it.each(pipelineFiles)("pipelines/%s is rejected naming file, line and YAML path", async (name) => {
    const file = path.join(fixtures, "pipelines", name);
    const { text, yamlPath, line, fragment } = await expectation(file);
    const { value, issues } = parsePipeline(file, text, connections);
    expect(value).toBeUndefined();
    const formatted = issues.map(formatIssue);
    expect(formatted).toContainEqual(expect.stringContaining(fragment));
    const issue = issues.find((i) => i.message.includes(fragment))!;
    expect({ file: issue.file, yamlPath: issue.yamlPath, line: issue.line }).toEqual({ file, yamlPath, line });
  });

  it.each(connectionFiles)("connections/%s is rejected naming file, line and YAML path", async (name) => {
    const file = path.join(fixtures, "connections", name);
    const { text, yamlPath, line, fragment } = await expectation(file);
    const { value, issues } = parseConnections(file, text, {});
    expect(value).toBeUndefined();
    const issue = issues.find((i) => i.message.includes(fragment));
    expect(issue, issues.map(formatIssue).join("\n")).toBeDefined();
    expect({ file: issue!.file, yamlPath: issue!.yamlPath, line: issue!.line }).toEqual({ file, yamlPath, line });
  });
});

describe("error reporting", () => {
  it("reports several problems of several files at once, each with file:line", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mrsync-config-"));
    await mkdir(path.join(dir, "pipelines"));
    await copyFile(path.join(root, "config", "connections.yml"), path.join(dir, "connections.yml"));
    for (const name of ["unknown-strategy.yml", "bad-cron.yml", "wrong-type.yml"]) {
      await copyFile(path.join(fixtures, "pipelines", name), path.join(dir, "pipelines", name));
    }
    await writeFile(
      path.join(dir, "pipelines", "two-problems.yml"),
      "pipeline:\n  name: Two\n  source: demo_mysql\n  target: local_redshift\n  staging: local_staging\n  s3: { compression: lz4 }\ntables:\n  a.b: { cdc_strategy: hybrid }\n",
    );
    const error: unknown = await loadConfig(dir, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, message } = error as ConfigError;
    expect(new Set(issues.map((i) => path.basename(i.file)))).toEqual(new Set(["unknown-strategy.yml", "bad-cron.yml", "wrong-type.yml", "two-problems.yml"]));
    const twoProblems = issues.filter((i) => i.file.endsWith("two-problems.yml")).map((i) => i.yamlPath);
    expect(twoProblems).toEqual(expect.arrayContaining(["pipeline.name", "pipeline.s3.compression", 'tables["a.b"].cdc_strategy']));
    expect(message).toMatch(/two-problems\.yml:6:\d+: pipeline\.s3\.compression: expected one of "snappy"/);
  });

  it("says which pipelines exist when a name is unknown", async () => {
    await expect(loadPipeline(path.join(root, "config"), "nope", {})).rejects.toThrow(/no pipeline named "nope"; known pipelines: demo/);
  });

  it("rejects two files declaring the same pipeline name, naming both", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mrsync-config-"));
    await mkdir(path.join(dir, "pipelines"));
    await copyFile(path.join(root, "config", "connections.yml"), path.join(dir, "connections.yml"));
    await copyFile(path.join(root, "config", "pipelines", "demo.yml"), path.join(dir, "pipelines", "a.yml"));
    await copyFile(path.join(root, "config", "pipelines", "demo.yml"), path.join(dir, "pipelines", "b.yml"));
    await expect(loadConfig(dir, {})).rejects.toThrow(/b\.yml:5:\d+: pipeline\.name: pipeline name demo is also used by .*a\.yml/);
  });
});
