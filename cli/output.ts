/**
 * How the CLI talks: human lines on stdout (or JSON with --json), problems on stderr, and exit codes that scripts
 * and Airflow tasks can rely on — 0 ok, 1 the sync (or wait) failed, 2 usage or configuration error.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export type GlobalOptions = { json: boolean; quiet: boolean; debug: boolean; local: boolean; configDir: string };

/** An error the user can fix: printed as its message alone (no stack), with its exit code. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.usage) {
    super(message);
    this.exitCode = exitCode;
  }
}

export class Output {
  readonly options: GlobalOptions;
  constructor(options: GlobalOptions) {
    this.options = options;
  }

  /** The command's result: JSON with --json, else the human rendering. */
  result(value: unknown, human: () => string): void {
    process.stdout.write(this.options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
  }

  /** Progress and notes: stderr, silenced by --quiet (and by --json, whose stdout is for machines). */
  info(message: string): void {
    if (!this.options.quiet) process.stderr.write(`${message}\n`);
  }

  debug(message: string): void {
    if (this.options.debug) process.stderr.write(`debug: ${message}\n`);
  }
}
