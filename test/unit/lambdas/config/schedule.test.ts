/** lambdas/config/schedule.ts: EventBridge schedule expressions, as EventBridge accepts them. */
import { describe, expect, it } from "vitest";
import { scheduleExpressionProblem } from "#config/schedule.ts";

describe("schedule expressions", () => {
  it.each([
    ["cron(0 2 * * ? *)", undefined],
    ["cron(15 10 ? * MON-FRI *)", undefined],
    ["cron(0/15 * * * ? *)", undefined],
    ["rate(5 minutes)", undefined],
    ["rate(1 hour)", undefined],
    ["at(2026-12-01T02:00:00)", undefined],
    ["rate(1 hours)", "singular"],
    ["rate(0 minutes)", "at least 1"],
    ["cron(0 25 * * ? *)", "hours"],
    ["0 2 * * *", "expected"],
  ])("%s", (expression, problem) => {
    const found = scheduleExpressionProblem(expression) ?? "valid";
    expect(found).toContain(problem ?? "valid");
  });
});
