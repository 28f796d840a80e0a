/**
 * The ASL file: equal to its typed definition (golden file: `npm run asl` regenerates it), valid for asl-validator,
 * every `${…}` bound (and every binding used), every Lambda step served by a handler module, and Plan's budgets.
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { EVENTS_PER_CHUNK, EVENTS_PER_POLL, EXECUTION_EVENTS, HISTORY_LIMIT, historyBudgets, maxTablesPerExecution, TABLE_EVENTS } from "#domain/run-plan.ts";
import { DEFINITION_FILE, HANDLER_MODULES } from "#local/stepfunctions/runner.ts";
import { SourceUnavailableError } from "#adapters/mysql.ts";
import { RedshiftTimeoutError, WarehouseUnavailableError } from "#adapters/redshift-data.ts";
import { PreconditionFailedError } from "#shared/errors.ts";
import { REDSHIFT_BUSY, SOURCE_UNAVAILABLE, WAREHOUSE_UNAVAILABLE, WATERMARK_CONFLICT } from "../../statemachines/retry-policies.ts";
import { renderDefinition, SUBSTITUTIONS, WAREHOUSE_ROLE_SUBSTITUTION } from "../../statemachines/sync-pipeline.ts";

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
    const bound = text.replace(/\$\{([A-Za-z]+)\}/g, (_, name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`);
    const result = validate(JSON.parse(bound));
    expect(result.errorsText("\n")).toBe("");
    expect(result.isValid).toBe(true);
  });

  it("binds every substitution it references, and references every one the stack binds", () => {
    expect(referenced).toEqual([...SUBSTITUTIONS].sort());
    // Every function substitution has a local handler; the one other is the warehouse role DescribeLoad assumes.
    expect([...Object.keys(HANDLER_MODULES), WAREHOUSE_ROLE_SUBSTITUTION].sort()).toEqual(referenced);
    for (const module of Object.values(HANDLER_MODULES))
      expect(existsSync(path.join(import.meta.dirname, "..", "..", "lambdas", "handlers", `${module}.ts`)), module).toBe(true);
  });
});

describe("history budgets", () => {
  it("keeps a full execution's worst case under 25,000 events", () => {
    for (const tables of [1, 2, 10, 50, maxTablesPerExecution()]) {
      const budget = historyBudgets(tables);
      expect(budget, `${tables} tables`).toBeDefined();
      const worst = EXECUTION_EVENTS + tables * (TABLE_EVENTS + (budget?.chunkBudget ?? 0) * EVENTS_PER_CHUNK + (budget?.pollBudget ?? 0) * EVENTS_PER_POLL);
      expect(worst, `${tables} tables`).toBeLessThanOrEqual(HISTORY_LIMIT);
    }
    expect(historyBudgets(maxTablesPerExecution() + 1)).toBeUndefined();
    expect(historyBudgets(1)).toEqual({ chunkBudget: 3_154, pollBudget: 240 });
  });
});

describe("retried error names", () => {
  it("are the names the product's error classes carry when thrown, so a rename cannot silently disable a retry", () => {
    const thrown = [
      new SourceUnavailableError("down"),
      new WarehouseUnavailableError("503"),
      new RedshiftTimeoutError("late"),
      new PreconditionFailedError("b", "k", "If-Match"),
    ];
    const retried = [SOURCE_UNAVAILABLE, WAREHOUSE_UNAVAILABLE, WATERMARK_CONFLICT].flatMap((r) => r.ErrorEquals);
    expect(retried.sort()).toEqual(thrown.map((e) => e.name).sort());
    expect(REDSHIFT_BUSY.ErrorEquals).toEqual(["ActiveStatementsExceededException"]);
  });
});
