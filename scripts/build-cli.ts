/**
 * npm run build:cli — the `mrsync` CLI as JavaScript for the package (`npm pack`): one ESM bundle of bin/mrsync.ts
 * for Node ≥ 22 in dist/cli/ (bin/mrsync.ts's shebang kept), dependencies left as imports (the package's dependencies install them), and what only
 * --local loads (the local state machine, stand-ins: dev dependencies) in chunks of their own, never imported up front.
 * Fails when the entry chunk would import a devDependency, since an install with --omit=dev could not run it.
 */
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";

const root = path.join(import.meta.dirname, "..");
const outdir = path.join(root, "dist", "cli");
const manifest = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> };

await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { mrsync: path.join(root, "bin", "mrsync.ts") },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  packages: "external",
  sourcemap: false,
  metafile: true,
  logLevel: "warning",
});

/** Packages a chunk imports statically, and whether it is the entry point. */
const devDependencies = new Set(Object.keys(manifest.devDependencies));
const packageOf = (specifier: string) => (specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : (specifier.split("/")[0] ?? specifier));
const loaded = new Set<string>();
const visit = (file: string) => {
  if (loaded.has(file)) return;
  loaded.add(file);
  for (const imported of result.metafile.outputs[file]?.imports ?? []) {
    if (imported.kind === "dynamic-import") continue;
    if (imported.external !== true) visit(imported.path);
    else if (devDependencies.has(packageOf(imported.path)))
      throw new Error(`${file} imports the devDependency ${imported.path} up front: load it only where it is used (dynamic import)`);
  }
};
const entry = Object.keys(result.metafile.outputs).find((file) => file.endsWith("mrsync.js"));
if (entry === undefined) throw new Error("esbuild wrote no mrsync.js");
visit(entry);
console.log(`built ${path.relative(root, path.join(root, entry))} (${loaded.size} chunks loaded up front, no devDependency among their imports)`);
