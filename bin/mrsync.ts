#!/usr/bin/env node
/** The `mrsync` CLI entry (`npx mrsync --help`). */
import "../cli/log-level.ts";
import "../local/powertools-env.ts";
import { run } from "../cli/main.ts";

process.exitCode = await run(process.argv.slice(2));
