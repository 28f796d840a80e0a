/**
 * Operator access to a table's watermark (mrsync watermark get|reset|set): each change is one conditional write,
 * so it never overwrites a run's concurrent commit; a run that loses its table this way fails its next commit.
 */
import { resetCursor, setCursor, type Watermark } from "#domain/watermark.ts";
import { watermarkIdentity, type TableContext } from "./sync-context.ts";

export async function getWatermark(context: TableContext): Promise<Watermark | undefined> {
  return (await context.watermarks.get(context.watermarkKey))?.watermark;
}

/** Forgets the cursor: the next run re-reads the whole table. Files still pending load stay listed. */
export async function resetWatermark(context: TableContext): Promise<Watermark> {
  return context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) => resetCursor(current, context.now()));
}

/** Moves the cursor (timestamp in MySQL's form, e.g. "2025-11-27 15:30:00.123456", UTC; id as digits). */
export async function setWatermark(context: TableContext, cursor: { timestamp?: string | null; id?: string | null }): Promise<Watermark> {
  return context.watermarks.update(context.watermarkKey, watermarkIdentity(context), (current) => setCursor(current, cursor, context.now()));
}
