/**
 * Operator access to a table's watermark (mrsync watermark get|reset|set): each change is one conditional write,
 * so it never overwrites a run's concurrent commit; a run that loses its table this way fails its next commit.
 */
import { discoverTable } from "#adapters/mysql.ts";
import { InvalidWatermarkError } from "#adapters/watermark-store.ts";
import { cursorValueProblem } from "#domain/cdc/cursor-values.ts";
import { strategyContext, strategyFor } from "#domain/cdc/index.ts";
import { buildTableSchema } from "#domain/table-schema.ts";
import { newWatermark, releaseDeadLease, resetCursor, setCursor, withPendingFiles, type Watermark } from "#domain/watermark.ts";
import { readWatermark, updateWatermark, watermarkIdentity, withSource, type TableContext } from "./sync-context.ts";

export async function getWatermark(context: TableContext): Promise<Watermark | undefined> {
  return await readWatermark(context);
}

/**
 * Forgets the cursor and everything a run left behind (its ceiling, lease, windows to validate or read again): the
 * next run re-reads the whole table from a clean state, whatever the watermark held — even one no longer readable as
 * a v2 watermark, which is replaced (its pending files kept where they can be read). Files pending load stay listed.
 */
export async function resetWatermark(context: TableContext): Promise<Watermark> {
  try {
    return await updateWatermark(context, (current) => resetCursor(current, context.now()));
  } catch (error) {
    if (!(error instanceof InvalidWatermarkError)) throw error;
    return context.watermarks.replaceInvalid(context.watermarkKey, watermarkIdentity(context), (pending) =>
      resetCursor(withPendingFiles(newWatermark(context.pipeline.name, context.table.key, context.table.cdc_strategy, context.now()), pending), context.now()),
    );
  }
}

/** A refused `watermark set`: what is wrong with the value, for which column, and what the table pages on. */
export class CursorValueError extends Error {
  override readonly name = "CursorValueError";
}

/**
 * The operator's cursor checked against what the strategy reads and against the table's columns as the source
 * describes them now: fields the strategy does not use, a tuple of another length, and values the columns could never
 * hold (an impossible date, an id beyond the type) are refused before anything is written.
 */
async function checkCursor(context: TableContext, cursor: { timestamp?: string | null; key?: string[] | null }): Promise<void> {
  const { table } = context;
  await withSource(context, async (connection) => {
    const discovered = await discoverTable(connection, table.sourceSchema, table.sourceTable);
    const schema = buildTableSchema(table, discovered.columns, discovered.primaryKey);
    const strategy = strategyFor(table, schema);
    const source = (name: string) => discovered.columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
    const uses = strategy.cursorFields;
    if (!uses.timestamp && !uses.key)
      throw new CursorValueError(`${table.key} is ${table.cdc_strategy}: it reads the whole table every run, there is no cursor to set`);
    if (cursor.timestamp !== undefined && cursor.timestamp !== null) {
      if (!uses.timestamp) {
        throw new CursorValueError(`--timestamp: ${table.key} is ${table.cdc_strategy}, whose cursor is its key alone (give --id or --key)`);
      }
      const column = source(table.cdc_timestamp_column ?? "");
      const problem = column === undefined ? undefined : cursorValueProblem(column, cursor.timestamp);
      if (problem !== undefined) throw new CursorValueError(`--timestamp: ${problem}`);
    }
    if (cursor.key !== undefined && cursor.key !== null) {
      const columns = strategyContext(table, schema).key;
      if (!uses.key) throw new CursorValueError(`--id/--key: ${table.key} is ${table.cdc_strategy}, whose cursor is its timestamp alone (give --timestamp)`);
      if (columns.length !== cursor.key.length) {
        throw new CursorValueError(
          `--key: ${table.key} pages on (${columns.map((c) => c.source).join(", ")}): give ${columns.length} value(s), got ${JSON.stringify(cursor.key)}`,
        );
      }
      columns.forEach((key, i) => {
        const column = source(key.source);
        const problem = column === undefined ? undefined : cursorValueProblem(column, cursor.key?.[i] ?? "");
        if (problem !== undefined) throw new CursorValueError(`--key: ${problem}`);
      });
    }
  });
}

/** Moves the cursor (timestamp in MySQL's form, e.g. "2025-11-27 15:30:00.123456", in the column's zone; the key as a tuple of text values). */
export async function setWatermark(context: TableContext, cursor: { timestamp?: string | null; key?: string[] | null }): Promise<Watermark> {
  await checkCursor(context, cursor);
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
