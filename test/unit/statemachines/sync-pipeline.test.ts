/** statemachines/sync-pipeline.ts: the ASL file equals its typed definition (golden file: `npm run asl` regenerates it), is valid for asl-validator, every `${…}` is bound and every Lambda step has a handler module. */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { DEFINITION_FILE, HANDLER_MODULES } from "#local/stepfunctions/runner.ts";
import { renderDefinition, SUBSTITUTIONS, PARTITION_SUBSTITUTION, WAREHOUSE_ROLE_SUBSTITUTION } from "../../../statemachines/sync-pipeline.ts";

type Validator = (
  definition: unknown,
  options?: { checkArn?: boolean; checkPaths?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };
const validate = createRequire(import.meta.url)("asl-validator") as Validator;

const text = await readFile(DEFINITION_FILE, "utf8");
const referenced = [...new Set([...text.matchAll(/\$\{([A-Za-z]+)\}/g)].map((m) => m[1] ?? ""))].sort();

describe("statemachines/sync-pipeline.asl.json", () => {
  it("is exactly what the typed definition renders (run `npm run asl` after changing it)", () => {
    expect(text).toBe(renderDefinition());
  });

  it("is valid ASL once its substitutions are bound", () => {
    const bound = text.replace(/\$\{([A-Za-z]+)\}/g, (_, name: string) =>
      name === PARTITION_SUBSTITUTION ? "aws-us-gov" : `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    );
    const result = validate(JSON.parse(bound));
    expect(result.errorsText("\n")).toBe("");
    expect(result.isValid).toBe(true);
  });

  it("binds every substitution it references, and references every one the stack binds", () => {
    expect(referenced).toEqual([...SUBSTITUTIONS].sort());
    // Every function substitution has a local handler; the others are the warehouse role DescribeLoad assumes and the
    // stack's partition (the service integrations' ARNs).
    expect([...Object.keys(HANDLER_MODULES), WAREHOUSE_ROLE_SUBSTITUTION, PARTITION_SUBSTITUTION].sort()).toEqual(referenced);
    for (const module of Object.values(HANDLER_MODULES))
      expect(existsSync(path.join(import.meta.dirname, "..", "..", "..", "lambdas", "handlers", `${module}.ts`)), module).toBe(true);
  });
});
