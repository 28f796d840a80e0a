/** `npm run config:validate [-- DIR]`: validates connections.yml and pipelines/*.yml; exit 1 listing every problem. */
import path from "node:path";
import { ConfigError } from "#config/errors.ts";
import { loadConfig } from "#config/loader.ts";

const dir = process.argv[2] ?? path.join(import.meta.dirname, "..", "config");
try {
  const { pipelines } = await loadConfig(dir);
  for (const p of pipelines) {
    console.log(
      `ok  ${p.name} (${path.relative(process.cwd(), p.file)}): ${p.tables.length} table(s) — ${p.tables.map((t) => `${t.key} [${t.cdc_strategy}]`).join(", ")}`,
    );
  }
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
