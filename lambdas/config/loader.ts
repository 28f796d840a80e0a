/**
 * Loads config/connections.yml and config/pipelines/*.yml: YAML → ${ENV} → zod → cross-file references →
 * resolved model. Every problem of every file is collected and reported with file, line and YAML path.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { z } from "zod";
import { interpolateEnv, type EnvProblem } from "./env.ts";
import { ConfigError, formatYamlPath, type ConfigIssue } from "./errors.ts";
import { resolvePipeline, type ResolvedPipeline } from "./resolve.ts";
import { ConnectionsFileSchema, PipelineFileSchema, type ConnectionsFile, type PipelineFile } from "./schema.ts";

type Env = Readonly<Record<string, string | undefined>>;
type Parsed<T> = { value: T | undefined; issues: ConfigIssue[] };

export type LoadedConfig = { connections: ConnectionsFile; pipelines: ResolvedPipeline[] };

/** A parsed YAML document that can say where a YAML path is. */
class SourceMap {
  private readonly lines = new LineCounter();
  readonly doc: Document.Parsed;
  readonly file: string;

  constructor(file: string, text: string) {
    this.file = file;
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  issue(path: readonly PropertyKey[], message: string, at: "key" | "value" = "value"): ConfigIssue {
    const offset = this.offsetOf(path, at);
    const position = offset === undefined ? undefined : this.lines.linePos(offset);
    return {
      file: this.file,
      yamlPath: formatYamlPath(path),
      line: position?.line,
      column: position?.col,
      message,
    };
  }

  syntaxIssues(): ConfigIssue[] {
    return this.doc.errors.map((error) => {
      const position = this.lines.linePos(error.pos[0]);
      return {
        file: this.file,
        yamlPath: "",
        line: position.line,
        column: position.col,
        message: `YAML syntax: ${error.message.split("\n")[0] ?? error.code}`,
      };
    });
  }

  /** Offset of the deepest node on the path that exists (a missing key points at its parent). */
  private offsetOf(path: readonly PropertyKey[], at: "key" | "value"): number | undefined {
    let node: unknown = this.doc.contents;
    let offset = (node as Node | null)?.range?.[0];
    for (const [i, segment] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
        if (pair === undefined) return offset;
        const isLast = i === path.length - 1;
        const keyNode = pair.key as Node;
        // A mapping or list is best pointed at by its key line; a scalar by the value itself.
        const pointAtKey = (isLast && at === "key") || !isScalar(pair.value);
        offset = (pointAtKey ? keyNode.range : (pair.value as Node).range)?.[0];
        node = pair.value;
      } else if (isSeq(node) && typeof segment === "number") {
        node = node.items[segment];
        offset = (node as Node | undefined)?.range?.[0] ?? offset;
      } else {
        return offset;
      }
    }
    return offset;
  }
}

function describeZodIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === "invalid_type" && valueAt(input, issue.path) === undefined) {
    const key = issue.path.at(-1);
    return `missing required key ${JSON.stringify(String(key))} (expected ${issue.expected})`;
  }
  if (issue.code === "invalid_type") {
    return `expected ${issue.expected}, got ${describeValue(valueAt(input, issue.path))}`;
  }
  if (issue.code === "invalid_value") {
    const options = issue.values.map((v) => JSON.stringify(v)).join(", ");
    return `expected one of ${options}, got ${describeValue(valueAt(input, issue.path))}`;
  }
  if (issue.code === "invalid_format" && issue.format === "regex") {
    return `${issue.message}; got ${describeValue(valueAt(input, issue.path))}`;
  }
  return issue.message;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${value}`;
  return typeof value;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function validate<T>(source: SourceMap, schema: z.ZodType<T>, input: unknown): Parsed<T> {
  const result = schema.safeParse(input);
  if (result.success) return { value: result.data, issues: [] };
  const issues = result.error.issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => source.issue([...issue.path, key], `unknown key ${JSON.stringify(key)} (misspelt, or not supported here)`, "key"));
    }
    if (issue.code === "invalid_key") {
      const key = issue.path.at(-1);
      const detail = issue.issues[0]?.message ?? "invalid key";
      return [source.issue(issue.path, `key ${JSON.stringify(String(key))}: ${detail}`, "key")];
    }
    return [source.issue(issue.path, describeZodIssue(issue, input))];
  });
  return { value: undefined, issues };
}

/** Aliases a config file may expand: config needs few; a "billion laughs" file would need millions. */
const MAX_ALIAS_COUNT = 100;

function readYaml(source: SourceMap, env: Env | undefined): Parsed<unknown> {
  const syntax = source.syntaxIssues();
  if (syntax.length > 0) return { value: undefined, issues: syntax };
  let raw: unknown;
  try {
    raw = source.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // e.g. "Excessive alias count": refused as a problem of this file, like any other.
    const reason = error instanceof Error ? (error.message.split("\n")[0] ?? error.name) : String(error);
    return { value: undefined, issues: [{ file: source.file, yamlPath: "", line: 1, column: 1, message: `YAML: ${reason}` }] };
  }
  if (env === undefined) return { value: raw, issues: [] };
  const problems: EnvProblem[] = [];
  const value = interpolateEnv(raw, env, problems);
  return { value, issues: problems.map((p) => source.issue(p.path, p.message)) };
}

export function parseConnections(file: string, text: string, env: Env): Parsed<ConnectionsFile> {
  const source = new SourceMap(file, text);
  const yaml = readYaml(source, env);
  if (yaml.issues.length > 0) return { value: undefined, issues: yaml.issues };
  return validate(source, ConnectionsFileSchema, yaml.value);
}

/** Validates a pipeline file; with connections, also checks that its source/target/staging exist. */
export function parsePipeline(file: string, text: string, connections?: ConnectionsFile): Parsed<PipelineFile> {
  const source = new SourceMap(file, text);
  const yaml = readYaml(source, undefined);
  if (yaml.issues.length > 0) return { value: undefined, issues: yaml.issues };
  const parsed = validate(source, PipelineFileSchema, yaml.value);
  if (parsed.value === undefined || connections === undefined) return parsed;
  const { pipeline } = parsed.value;
  const references = [
    ["source", pipeline.source, connections.sources],
    ["target", pipeline.target, connections.targets],
    ["staging", pipeline.staging, connections.staging],
  ] as const;
  const issues = references.flatMap(([key, name, known]) =>
    Object.hasOwn(known, name)
      ? []
      : [
          source.issue(
            ["pipeline", key],
            `${key} ${JSON.stringify(name)} is not defined in connections.yml (${key === "staging" ? "staging" : `${key}s`}: ${Object.keys(known).join(", ") || "none"})`,
          ),
        ],
  );
  return issues.length > 0 ? { value: undefined, issues } : parsed;
}

async function readText(file: string, issues: ConfigIssue[]): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : String(error);
    issues.push({ file, yamlPath: "", line: undefined, column: undefined, message: reason });
    return undefined;
  }
}

/** Reads and validates the whole config directory; throws one ConfigError listing every problem. */
export async function loadConfig(configDir: string, env: Env = process.env): Promise<LoadedConfig> {
  const issues: ConfigIssue[] = [];
  const connectionsFile = path.join(configDir, "connections.yml");
  const connectionsText = await readText(connectionsFile, issues);
  const connections = connectionsText === undefined ? undefined : collect(parseConnections(connectionsFile, connectionsText, env), issues);

  const pipelineDir = path.join(configDir, "pipelines");
  const names = (await readdir(pipelineDir).catch(() => [])).filter((f) => /\.ya?ml$/.test(f)).sort();
  const pipelines: ResolvedPipeline[] = [];
  const fileOfPipeline = new Map<string, string>();
  for (const name of names) {
    const file = path.join(pipelineDir, name);
    const text = await readText(file, issues);
    if (text === undefined) continue;
    const parsed = collect(parsePipeline(file, text, connections), issues);
    if (parsed === undefined || connections === undefined) continue;
    const earlier = fileOfPipeline.get(parsed.pipeline.name);
    if (earlier !== undefined) {
      const source = new SourceMap(file, text);
      issues.push(source.issue(["pipeline", "name"], `pipeline name ${parsed.pipeline.name} is also used by ${earlier}`));
      continue;
    }
    fileOfPipeline.set(parsed.pipeline.name, file);
    pipelines.push(resolvePipeline(file, parsed, connections));
  }
  if (issues.length > 0 || connections === undefined) throw new ConfigError(issues);
  return { connections, pipelines };
}

/** One pipeline of a loaded config, or a clear error naming the pipelines that exist. */
export function findPipeline(pipelines: readonly ResolvedPipeline[], name: string, configDir: string): ResolvedPipeline {
  const found = pipelines.find((p) => p.name === name);
  if (found === undefined) {
    throw new ConfigError([
      {
        file: path.join(configDir, "pipelines"),
        yamlPath: "",
        line: undefined,
        column: undefined,
        message: `no pipeline named ${JSON.stringify(name)}; known pipelines: ${pipelines.map((p) => p.name).join(", ") || "none"}`,
      },
    ]);
  }
  return found;
}

/** Loads the config and returns one pipeline. */
export async function loadPipeline(configDir: string, name: string, env: Env = process.env): Promise<ResolvedPipeline> {
  return findPipeline((await loadConfig(configDir, env)).pipelines, name, configDir);
}

function collect<T>(parsed: Parsed<T>, issues: ConfigIssue[]): T | undefined {
  issues.push(...parsed.issues);
  return parsed.value;
}
