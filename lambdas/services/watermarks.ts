/**
 * Operator access to a table's watermark (mrsync watermark get|reset|set): each change is one conditional write,
 * so it never overwrites a run's concurrent commit; a run that loses its table this way fails its next commit.
 */
import { discoverTable } from "#adapters/mysql.ts";
import { strategyContext } from "#domain/cdc/index.ts";
import { bindValue } from "#domain/cdc/keyset.ts";
import { buildTableSchema } from "#domain/table-schema.ts";
import { releaseDeadLease, resetCursor, setCursor, type Watermark } from "#domain/watermark.ts";
import { readWatermark, updateWatermark, withSource, type TableContext } from "./sync-context.ts";

export async function getWatermark(context: TableContext): Promise<Watermark | undefined> {
  return await readWatermark(context);
}

/** Forgets the cursor: the next run re-reads the whole table. Files still pending load stay listed. */
export async function resetWatermark(context: TableContext): Promise<Watermark> {
  return updateWatermark(context, (current) => resetCursor(current, context.now()));
}

/** The tuple checked against the table's key as the source describes it now: its length and each value's type. */
async function checkKey(context: TableContext, key: readonly string[]): Promise<void> {
  await withSource(context, async (connection) => {
    const discovered = await discoverTable(connection, context.table.sourceSchema, context.table.sourceTable);
    const columns = strategyContext(context.table, buildTableSchema(context.table, discovered.columns, discovered.primaryKey)).key;
    if (columns.length !== key.length) {
      throw new Error(
        `--key: ${context.table.key} pages on (${columns.map((c) => c.source).join(", ")}): give ${columns.length} value(s), got ${JSON.stringify(key)}`,
      );
    }
    columns.forEach((column, i) => {
      try {
        bindValue(column, key[i] ?? "");
      } catch (error) {
        throw new Error(`--key: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    });
  });
}

/** Moves the cursor (timestamp in MySQL's form, e.g. "2025-11-27 15:30:00.123456", UTC; the key as a tuple of text values). */
export async function setWatermark(context: TableContext, cursor: { timestamp?: string | null; key?: string[] | null }): Promise<Watermark> {
  if (cursor.key !== undefined && cursor.key !== null) await checkKey(context, cursor.key);
  return updateWatermark(context, (current) => setCursor(current, cursor, context.now()));
}

/** Why the lease's holder may still be alive (undefined: it is gone). */
export type HolderCheck = (holder: { runId: string; host: string | undefined; pid: number | undefined }) => Promise<string | undefined>;

/**
 * Frees the lease of a run that is gone, after `isAlive` found no sign of it; refuses (LeaseReleaseRefusedError,
 * with the reason) otherwise. A free lease is left as it is.
 */
export async function releaseWatermark(
  context: TableContext,
  isAlive: HolderCheck,
): Promise<{ released: string | undefined; watermark: Watermark | undefined }> {
  const current = await getWatermark(context);
  const state = current?.mysql_state;
  if (
    current === undefined ||
    state?.run_id === null ||
    state?.run_id === undefined ||
    state.lease_expires_at === null ||
    Date.parse(state.lease_expires_at) <= context.now().getTime()
  ) {
    return { released: undefined, watermark: current };
  }
  const runId = state.run_id;
  const alive = await isAlive({ runId, host: state.lease_holder?.host, pid: state.lease_holder?.pid });
  if (alive !== undefined) throw new LeaseReleaseRefusedError(`${context.table.key}: not released: run ${runId} may still be running — ${alive}`);
  const watermark = await updateWatermark(context, (w) => releaseDeadLease(w, runId, context.now()));
  return { released: runId, watermark };
}

export class LeaseReleaseRefusedError extends Error {
  override readonly name = "LeaseReleaseRefusedError";
}
