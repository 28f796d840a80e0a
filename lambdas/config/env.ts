/**
 * `${VAR}` and `${VAR:-default}` references in string values, resolved from the environment (local use).
 * Pure: the environment is passed in; every unresolved reference is reported with its path.
 */
/** Set on every deployed function: its config was resolved at synth, so a `${VAR}` in it is an error, never looked up. */
export const CONFIG_RESOLVED_ENV = "MRSYNC_CONFIG_RESOLVED";

/** The COPY role the stack created (createCopyRole): used by targets whose config names no copy_role_arn. */
export const COPY_ROLE_ENV = "MRSYNC_COPY_ROLE_ARN";

export type EnvProblem = { path: (string | number)[]; message: string };

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolateEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  problems: EnvProblem[],
  path: (string | number)[] = [],
): unknown {
  if (typeof value === "string") {
    return value.replace(REFERENCE, (whole, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      problems.push({
        path,
        message: `environment variable ${name} is not set (referenced as ${whole}); export it, or write \${${name}:-default}`,
      });
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, problems, [...path, i]));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, problems, [...path, key])]));
  }
  return value;
}
