/**
 * Imported first by the local entry points (demo): the handlers' Powertools logger and metrics read their
 * settings when created, so the local defaults — errors only, no EMF lines on the terminal — must be in the
 * environment before any handler module loads. POWERTOOLS_LOG_LEVEL=INFO npm run demo shows everything.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= "ERROR";
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
// Tracing is a no-op outside Lambda, but the X-Ray SDK's automatic mode installs an async hook (cls-hooked) with a
// destroy callback on every promise from its import on: 12–20 % of a local run (docs/benchmarks.md, bench:run).
process.env.AWS_XRAY_MANUAL_MODE ??= "1";
// The local runner's identity tags (the functions' and the state machine's calls), before any SDK client sends.
import "./iam/runtime.ts";
