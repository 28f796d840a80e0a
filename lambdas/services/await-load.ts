/**
 * AwaitLoad: waits for a submitted load's statement to end — long polls of DescribeStatement (WaitTimeSeconds), so a
 * load that ends in 2 s is seen ended at 2 s — and answers with its status; the state machine calls it again while
 * the statement runs past one call's wait. What the status means (files to processed, Redshift's error) is
 * CompleteLoad's business, not this step's.
 */
import type { RedshiftData, StatementStatus } from "#adapters/redshift-data.ts";
import type { Load } from "#shared/steps.ts";

export async function awaitLoadStep(redshift: Pick<RedshiftData, "awaitEnd">, load: Load, until: number): Promise<StatementStatus> {
  // Submitted? sends a load without a statement (the ledger shows it applied) straight to CompleteLoad.
  if (load.statementId === null) return "FINISHED";
  return (await redshift.awaitEnd(load.statementId, until)).status;
}
