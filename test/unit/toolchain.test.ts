import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.join(import.meta.dirname, "..", "..");

describe("toolchain", () => {
  it("runs the tests on Node 24, the Lambda runtime the project targets", async () => {
    const nvmrc = (await readFile(path.join(root, ".nvmrc"), "utf8")).trim();
    expect(process.versions.node.split(".")[0]).toBe(nvmrc);
    expect(nvmrc).toBe("24");
  });
});
