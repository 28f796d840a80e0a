#!/usr/bin/env node
/** The `mrsync` CLI entry (`npx mrsync --help`). */
import "../local/powertools-env.ts";
import { run } from "../cli/main.ts";

process.exitCode = await run(process.argv.slice(2));
