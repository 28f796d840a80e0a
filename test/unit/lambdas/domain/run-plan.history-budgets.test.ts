/** lambdas/domain/run-plan.ts: the history budgets keep an execution's worst case under Step Functions' 25,000 events. */
import { describe, expect, it } from "vitest";
import { EVENTS_PER_CHUNK, EVENTS_PER_POLL, EXECUTION_EVENTS, HISTORY_LIMIT, historyBudgets, maxTablesPerExecution, TABLE_EVENTS } from "#domain/run-plan.ts";

describe("history budgets", () => {
  it("keeps a full execution's worst case under 25,000 events", () => {
    for (const tables of [1, 2, 10, 50, maxTablesPerExecution()]) {
      const budget = historyBudgets(tables);
      expect(budget, `${tables} tables`).toBeDefined();
      const worst = EXECUTION_EVENTS + tables * (TABLE_EVENTS + (budget?.chunkBudget ?? 0) * EVENTS_PER_CHUNK + (budget?.pollBudget ?? 0) * EVENTS_PER_POLL);
      expect(worst, `${tables} tables`).toBeLessThanOrEqual(HISTORY_LIMIT);
    }
    expect(historyBudgets(maxTablesPerExecution() + 1)).toBeUndefined();
    expect(historyBudgets(1)).toEqual({ chunkBudget: 3_222, pollBudget: 240 });
  });
});
