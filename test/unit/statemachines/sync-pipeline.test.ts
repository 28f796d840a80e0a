/** statemachines/sync-pipeline.ts: the ASL file equals its typed definition (golden file: `npm run asl` regenerates it), is valid for asl-validator, every `${…}` is bound and every Lambda step has a handler module. */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { DEFINITION_FILE, HANDLER_MODULES } from "#local/stepfunctions/runner.ts";
import { renderDefinition, SUBSTITUTIONS, PARTITION_SUBSTITUTION } from "../../../statemachines/sync-pipeline.ts";

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
    // Every function substitution has a local handler; the other is the stack's partition (the service integrations' ARNs).
    expect([...Object.keys(HANDLER_MODULES), PARTITION_SUBSTITUTION].sort()).toEqual(referenced);
    for (const module of Object.values(HANDLER_MODULES))
      expect(existsSync(path.join(import.meta.dirname, "..", "..", "..", "lambdas", "handlers", `${module}.ts`)), module).toBe(true);
  });

  it("waits for a load with no Wait state: AwaitLoad long-polls right after SubmitLoad, and again only while the load runs", () => {
    type State = { Type: string; Next?: string; Default?: string; Resource?: string; ItemProcessor?: { States: Record<string, State> } };
    const definition = JSON.parse(text) as { States: Record<string, State> };
    const perTable = definition.States.Tables?.ItemProcessor?.States ?? {};
    const perRange = definition.States.RangeReaders?.ItemProcessor?.States ?? {};
    const all = { ...definition.States, ...perTable, ...perRange };
    expect(Object.entries(all).filter(([, s]) => s.Type === "Wait")).toEqual([]);
    expect(perTable["Submitted?"]?.Default).toBe("AwaitLoad");
    expect(perTable.AwaitLoad?.Resource).toBe("${AwaitLoadFunctionArn}");
    expect(perTable.AwaitLoad?.Next).toBe("LoadEnded?");
    expect(perTable.CountPoll?.Next).toBe("AwaitLoad");
    // Nothing in the definition calls the Data API itself (its SDK integration may not pass WaitTimeSeconds).
    expect(text).not.toContain("redshiftdata");
  });
});
