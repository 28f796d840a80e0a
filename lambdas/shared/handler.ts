/**
 * One way to build a step's Lambda handler: middy with the Powertools logger, metrics and tracer middlewares; the
 * task input parsed by its zod contract at the edge; the run's keys (pipeline, table, execution) on every log line
 * and as metric dimensions. Errors are logged and thrown, never returned: Step Functions retries and catches them
 * by name (the error's `name` is Lambda's errorType).
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import type { Context } from "aws-lambda";
import type { z } from "zod";
import { metered } from "./meter.ts";
import { logger, metrics, tracer } from "./powertools.ts";

/** A task input that does not match its contract: the ASL and the handler disagree (a deployment mismatch). */
export class StepInputError extends Error {
  override readonly name = "StepInputError";
}

type RunKeys = { run?: { pipeline?: unknown; executionId?: unknown }; table?: unknown };

function runKeys(input: unknown): Record<string, string> {
  const { run, table } = (input ?? {}) as RunKeys;
  const keys: Record<string, string> = {};
  if (typeof run?.pipeline === "string") keys.pipeline = run.pipeline;
  if (typeof run?.executionId === "string") keys.executionId = run.executionId;
  if (typeof table === "string") keys.table = table;
  return keys;
}

/** Milliseconds before the function's timeout when a step must have returned (uploads and the watermark write). */
export const DEADLINE_MARGIN_MS = 60_000;

export const deadlineOf = (context: Pick<Context, "getRemainingTimeInMillis">) => Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;

export function stepHandler<Schema extends z.ZodType, Result>(
  step: string,
  schema: Schema,
  run: (input: z.output<Schema>, context: Context) => Promise<Result>,
) {
  return middy(async (event: unknown, context: Context): Promise<Result> => {
    const parsed = schema.safeParse(event);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(input)"}: ${issue.message}`).join("; ");
      throw new StepInputError(`${step}: task input does not match its contract (${problems}); redeploy the state machine and its functions together`);
    }
    const keys = runKeys(parsed.data);
    logger.appendKeys({ step, ...keys });
    if (keys.pipeline !== undefined) metrics.addDimensions({ Pipeline: keys.pipeline, ...(keys.table === undefined ? {} : { Table: keys.table }) });
    try {
      // Lambda reports its memory size as text; what the cost estimate's GB-seconds multiply by.
      return await metered(Number(context.memoryLimitInMB) || 1024, () => run(parsed.data, context));
    } catch (error) {
      logger.error(`${step} failed`, error instanceof Error ? error : String(error));
      throw error;
    }
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
