import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HOLDS_MYSQL_TRANSACTIONS, HOLDS_TRANSACTION } from "../support/alone.ts";

const root = path.join(import.meta.dirname, "..", "..");

describe("toolchain", () => {
  it("runs the tests on Node 24, the Lambda runtime the project targets", async () => {
    const nvmrc = (await readFile(path.join(root, ".nvmrc"), "utf8")).trim();
    expect(process.versions.node.split(".")[0]).toBe(nvmrc);
    expect(nvmrc).toBe("24");
  });

  it("runs alone every test file that holds a MySQL write transaction open (the transaction horizon is server-wide)", async () => {
    const files = (await readdir(path.join(root, "test"), { recursive: true })).filter((f) => f.endsWith(".test.ts")).map((f) => `test/${f}`);
    const holding: string[] = [];
    for (const file of files) if (HOLDS_TRANSACTION.test(await readFile(path.join(root, file), "utf8"))) holding.push(file);
    expect(holding.length).toBeGreaterThan(0);
    expect([...holding].sort()).toEqual([...HOLDS_MYSQL_TRANSACTIONS].sort());
  });
});
