/** Writes config/schema/*.json from the zod schemas (`npm run config:schema`); a test checks they are current. */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { JSON_SCHEMA_FILES, renderJsonSchema } from "#config/json-schema.ts";

const outDir = path.join(import.meta.dirname, "..", "config", "schema");
for (const name of Object.keys(JSON_SCHEMA_FILES) as (keyof typeof JSON_SCHEMA_FILES)[]) {
  await writeFile(path.join(outDir, name), renderJsonSchema(name));
  console.log(`wrote config/schema/${name}`);
}
