/** `mrsync s3clean list|clean -p P -t T [--older-than 7d] [--force]` — loaded staged files, never pending ones. */
import type { Command } from "commander";
import { staleStagedFiles } from "#services/staged-files.ts";
import { parseDuration } from "../durations.ts";
import type { Output } from "../output.ts";
import { pipeline, table } from "../tables.ts";

type Options = { pipeline: string; table: string; olderThan: string; force?: boolean };

const mb = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

export function s3cleanCommands(program: Command, output: () => Output): void {
  const group = program.command("s3clean").description("delete a table's loaded staged files (Parquet, manifests); files pending load are never touched");
  const withTable = (command: Command) =>
    command
      .requiredOption("-p, --pipeline <name>", "pipeline name")
      .requiredOption("-t, --table <schema.table>", "table")
      .option("--older-than <duration>", "only files older than this (e.g. 7d, 12h)", "7d");
  const select = async (out: Output, options: Options) => {
    const context = table(await pipeline(out.options.configDir, options.pipeline), options.table);
    const cutoff = new Date(Date.now() - parseDuration(options.olderThan) * 1000);
    return { context, files: await staleStagedFiles(context, cutoff) };
  };
  withTable(group.command("list").description("what clean would delete")).action(async (options: Options) => {
    const out = output();
    const { files } = await select(out, options);
    const bytes = files.deletable.reduce((n, o) => n + o.size, 0);
    out.result(
      { deletable: files.deletable.map((o) => ({ key: o.key, size: o.size, lastModified: o.lastModified })), pending: files.pending, kept: files.kept },
      () =>
        [
          ...files.deletable.map((o) => `  ${o.key}  ${o.size} B`),
          `${files.deletable.length} file(s), ${mb(bytes)} deletable; ${files.pending.length} pending load (kept)`,
        ].join("\n"),
    );
  });
  withTable(group.command("clean").description("delete them (a dry run unless --force)"))
    .option("--force", "really delete", false)
    .action(async (options: Options) => {
      const out = output();
      const { context, files } = await select(out, options);
      const keys = files.deletable.map((o) => o.key);
      const deleted = options.force === true ? await context.s3.delete(context.bucket, keys) : 0;
      out.result({ dryRun: options.force !== true, deleted, wouldDelete: options.force === true ? 0 : keys.length, pendingKept: files.pending.length }, () =>
        options.force === true
          ? `deleted ${deleted} file(s); ${files.pending.length} pending load kept`
          : `dry run: would delete ${keys.length} file(s) (add --force); ${files.pending.length} pending load kept`,
      );
    });
}
