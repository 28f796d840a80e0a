/**
 * `mrsync markers list|wait` — the consumer side of completion markers (docs/design.md §4): what an Airflow sensor
 * does, from a shell. `wait` pokes until every requested table of the day has its completion_marker.txt (all-of;
 * `pipeline/*` means every table of the pipeline), backing off from --poke to --max-poke, and exits 1 at --timeout.
 */
import { markerSearchPrefix, runStamp } from "#domain/s3-layout.ts";
import type { Command } from "commander";
import { s3Store } from "#adapters/s3.ts";
import { CliError, EXIT, type Output } from "../output.ts";
import { parseDuration } from "../durations.ts";
import { config } from "../tables.ts";

type Wanted = { pipeline: string; table: string; bucket: string };
type Found = Wanted & { key: string; metadata: unknown };

async function resolve(configDir: string, specs: readonly string[], bucketOption: string | undefined): Promise<Wanted[]> {
  const { pipelines } = await config(configDir);
  return specs.flatMap((spec) => {
    const slash = spec.indexOf("/");
    if (slash < 1) throw new CliError(`--marker ${spec}: expected <pipeline>/<schema.table> (the table may use * as a wildcard)`);
    const [name, pattern] = [spec.slice(0, slash), spec.slice(slash + 1)];
    const found = pipelines.find((p) => p.name === name);
    if (found === undefined) throw new CliError(`--marker ${spec}: no pipeline named ${name}; known: ${pipelines.map((p) => p.name).join(", ")}`);
    const bucket = bucketOption ?? found.completionBucket;
    if (bucket === undefined) throw new CliError(`--marker ${spec}: pipeline ${name} has no completion.bucket; give --bucket`);
    const regex = new RegExp(
      `^${pattern
        .split("*")
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    );
    const tables = found.tables.map((t) => t.key).filter((key) => regex.test(key));
    if (tables.length === 0) throw new CliError(`--marker ${spec}: no table of ${name} matches ${pattern}`);
    return tables.map((table) => ({ pipeline: name, table, bucket }));
  });
}

/** The newest completed marker folder of the table for the day (YYYYMMDD), if any. */
async function newestMarker(wanted: Wanted, day: string): Promise<string | undefined> {
  const prefix = markerSearchPrefix(wanted.pipeline, wanted.table, day);
  const keys = (await s3Store().listAll(wanted.bucket, prefix)).map((o) => o.key).filter((k) => k.endsWith("/completion_marker.txt"));
  return keys.sort().at(-1);
}

async function withMetadata(wanted: Wanted, key: string): Promise<Found> {
  const { value } = await s3Store().getJson(wanted.bucket, key.replace(/completion_marker\.txt$/, "execution_metadata.json"));
  return { ...wanted, key, metadata: value };
}

const line = (f: Found) => {
  const summary = f.metadata as { summary?: { total_rows_processed?: number }; execution_id?: string };
  return `  ${f.pipeline}/${f.table}: s3://${f.bucket}/${f.key} (${summary.summary?.total_rows_processed ?? "?"} rows, ${summary.execution_id ?? "?"})`;
};

export function markersCommands(program: Command, output: () => Output): void {
  const group = program.command("markers").description("completion markers: list them, or wait for them like a sensor");
  group
    .command("list")
    .description("completed marker folders of a pipeline's tables")
    .requiredOption("-p, --pipeline <name>", "pipeline name")
    .option("-t, --table <schema.table>", "one table (default: all)", "*")
    .option("--bucket <bucket>", "completion bucket (default: the pipeline's)")
    .option("--date <YYYYMMDD>", "only that day's runs")
    .action(async (options: { pipeline: string; table: string; bucket?: string; date?: string }) => {
      const out = output();
      const wanted = await resolve(out.options.configDir, [`${options.pipeline}/${options.table}`], options.bucket);
      const found: { pipeline: string; table: string; bucket: string; key: string }[] = [];
      for (const w of wanted) {
        const prefix = markerSearchPrefix(w.pipeline, w.table, options.date);
        for (const object of await s3Store().listAll(w.bucket, prefix))
          if (object.key.endsWith("/completion_marker.txt")) found.push({ ...w, key: object.key });
      }
      out.result(found, () => (found.length === 0 ? "no completion markers" : found.map((f) => `s3://${f.bucket}/${f.key}`).join("\n")));
    });
  group
    .command("wait")
    .description("wait until every given table has a completion marker for the day (exit 0), or time out (exit 1)")
    .requiredOption(
      "-m, --marker <pipeline/schema.table>",
      "a table to wait for; * matches several; repeat for more (all must arrive)",
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option("--bucket <bucket>", "completion bucket (default: each pipeline's)")
    .option("--date <YYYYMMDD>", "the run day (UTC) whose markers count", runStamp(new Date().toISOString()).slice(0, 8))
    .option("--poke <duration>", "first wait between two looks", "30s")
    .option("--max-poke <duration>", "longest wait between two looks (the wait doubles up to it)", "5m")
    .option("--timeout <duration>", "give up after this long (exit 1)", "1h")
    .action(async (options: { marker: string[]; bucket?: string; date: string; poke: string; maxPoke: string; timeout: string }) => {
      const out = output();
      if (!/^\d{8}$/.test(options.date)) throw new CliError(`--date must be YYYYMMDD, got ${options.date}`);
      const wanted = await resolve(out.options.configDir, options.marker, options.bucket);
      const deadline = Date.now() + parseDuration(options.timeout) * 1000;
      let poke = parseDuration(options.poke);
      const maxPoke = parseDuration(options.maxPoke);
      const found = new Map<string, Found>();
      for (;;) {
        for (const w of wanted.filter((x) => !found.has(`${x.pipeline}/${x.table}`))) {
          const key = await newestMarker(w, options.date);
          if (key !== undefined) found.set(`${w.pipeline}/${w.table}`, await withMetadata(w, key));
        }
        const missing = wanted.filter((w) => !found.has(`${w.pipeline}/${w.table}`)).map((w) => `${w.pipeline}/${w.table}`);
        if (missing.length === 0) break;
        if (Date.now() + poke * 1000 > deadline) {
          throw new CliError(`timed out after ${options.timeout}: no completion marker for ${options.date} yet from ${missing.join(", ")}`, EXIT.failed);
        }
        out.info(`waiting ${poke}s for ${missing.join(", ")}`);
        await new Promise((resolve) => setTimeout(resolve, poke * 1000));
        poke = Math.min(maxPoke, poke * 2);
      }
      const all = [...found.values()];
      out.result(all, () => `all ${all.length} marker(s) present:\n${all.map(line).join("\n")}`);
    });
}
