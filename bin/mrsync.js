#!/usr/bin/env node
// The `mrsync` command. In a checkout it runs the sources (bin/mrsync.ts: always current, Node 24); in the installed
// package, which holds no sources, the bundle `npm pack` built (dist/cli/mrsync.js, Node ≥ 22).
import { existsSync } from "node:fs";

const checkout = existsSync(`${import.meta.dirname}/../lambdas`);
await import(checkout ? "./mrsync.ts" : "../dist/cli/mrsync.js");
