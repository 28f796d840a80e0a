/**
 * The config the functions are bundled with, frozen at synth: connections.yml with every `${VAR}` resolved from the
 * synth environment (the values the stack's grants were computed from), pipelines/*.yml as they are. Inside Lambda
 * the synth's variables do not exist; resolving them again there would give other values, or fail, so the deployed
 * functions read this snapshot and refuse any `${VAR}` left (MRSYNC_CONFIG_RESOLVED). A source password is refused
 * here: the snapshot is the functions' code asset, and a secret belongs in Secrets Manager (`secret:`).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { interpolateEnv, type EnvProblem } from "#config/env.ts";

export { CONFIG_RESOLVED_ENV } from "#config/env.ts";
import { ConfigError, formatYamlPath } from "#config/errors.ts";

export function snapshotConfig(configDir: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const file = path.join(configDir, "connections.yml");
  const problems: EnvProblem[] = [];
  const resolved = interpolateEnv(parse(readFileSync(file, "utf8"), { maxAliasCount: 100 }) as unknown, env, problems);
  problems.push(...bundledPasswords(resolved));
  if (problems.length > 0) {
    throw new ConfigError(problems.map((p) => ({ file, yamlPath: formatYamlPath(p.path), line: undefined, column: undefined, message: p.message })));
  }
  const out = mkdtempSync(path.join(tmpdir(), "mrsync-bundled-config-"));
  // JSON is YAML: the loader reads it as it reads the original.
  writeFileSync(path.join(out, "connections.yml"), `# ${file}, resolved at synth\n${JSON.stringify(resolved, null, 2)}\n`);
  mkdirSync(path.join(out, "pipelines"));
  for (const name of readdirSync(path.join(configDir, "pipelines")).filter((f) => /\.ya?ml$/.test(f))) {
    copyFileSync(path.join(configDir, "pipelines", name), path.join(out, "pipelines", name));
  }
  return out;
}

/**
 * A source password would be written into the functions' code asset (readable by whoever may read the function or
 * the CDK asset bucket) and never rotated with the database. An empty one (the local demo's root) carries no secret.
 */
function bundledPasswords(resolved: unknown): EnvProblem[] {
  const sources = (resolved as { sources?: unknown } | null)?.sources;
  if (sources === null || typeof sources !== "object") return [];
  return Object.entries(sources).flatMap(([name, source]) => {
    const password = (source as { password?: unknown } | null)?.password;
    if (password === undefined || password === null || password === "") return [];
    return [
      {
        path: ["sources", name, "password"],
        message:
          `a password would be bundled into the deployed functions' code; store {"username","password"} in a Secrets Manager secret ` +
          `and give the source \`secret: <name or ARN>\` instead of username/password (the stack grants the functions read access to it)`,
      },
    ];
  });
}
