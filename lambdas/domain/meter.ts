/** The meter: what steps spent, for the cost estimate (domain/cost.ts prices it). */
import { z } from "zod";

/**
 * What a table's steps spent so far (each step adds its own invocation: shared/meter.ts), priced by domain/cost.ts.
 * `transitions` counts each state the table's steps took, the Choice and Pass states after them included.
 */
export const MeterSchema = z.object({
  transitions: z.int().nonnegative(),
  invocations: z.int().nonnegative(),
  lambdaGbMs: z.number().nonnegative(),
  s3Writes: z.int().nonnegative(),
  s3Reads: z.int().nonnegative(),
  /** The loads' active windows (epoch ms, merged): Redshift Serverless bills the spans they make. */
  loadWindows: z.array(z.tuple([z.number(), z.number()])),
});
export type Meter = z.output<typeof MeterSchema>;
/** A meter that has counted nothing yet. */
export const emptyMeter = (): Meter => ({ transitions: 0, invocations: 0, lambdaGbMs: 0, s3Writes: 0, s3Reads: 0, loadWindows: [] });
