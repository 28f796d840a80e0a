/** Writes statemachines/sync-pipeline.asl.json from statemachines/sync-pipeline.ts (`npm run asl`). */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { renderDefinition } from "../statemachines/sync-pipeline.ts";

const file = path.join(import.meta.dirname, "..", "statemachines", "sync-pipeline.asl.json");
await writeFile(file, renderDefinition());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
