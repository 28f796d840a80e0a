/**
 * Imported first by the CLI entry: the steps the CLI runs here (sync --local, smoke, reconcile) log as in Lambda —
 * JSON lines with stack traces — while the CLI's own lines already say what failed, where and how to fix it. Their
 * logger reads its level when created, so it is set before any of them loads: silent, or everything with --debug
 * (an explicit POWERTOOLS_LOG_LEVEL wins).
 */
process.env.POWERTOOLS_LOG_LEVEL ??= process.argv.includes("--debug") ? "DEBUG" : "SILENT";
