/** One problem in one configuration file, located by YAML path and line so a user can fix it without guessing. */
export type ConfigIssue = {
  file: string;
  /** e.g. tables["settlement.orders"].cdc_strategy; "" for the document itself */
  yamlPath: string;
  line: number | undefined;
  column: number | undefined;
  message: string;
};

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return issue.yamlPath === "" ? `${where}: ${issue.message}` : `${where}: ${issue.yamlPath}: ${issue.message}`;
}

export function formatYamlPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else {
      const text = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(text)) out += out === "" ? text : `.${text}`;
      else out += `[${JSON.stringify(text)}]`;
    }
  }
  return out;
}

/** Thrown when configuration is invalid; carries every issue found, not only the first. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    super(`Invalid configuration (${count}):\n${issues.map((issue) => `  - ${formatIssue(issue)}`).join("\n")}`);
    this.issues = issues;
  }
}
