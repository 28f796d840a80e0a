/**
 * Watermarks in S3 (docs/design.md §5): read, then write back conditionally on the ETag read (or on absence), so two
 * writers can never silently overwrite each other. A transition that loses the race is re-applied to the fresh
 * watermark — which re-checks the lease, so a run that lost its table learns it instead of overwriting.
 *
 * Each update stamps what it writes with a write id of its own (`write_id`). When a write lands but its reply is lost,
 * the SDK's retry of the same PUT meets a changed ETag (412): the store then finds its own write id in the watermark
 * and returns that — the transition is never applied on top of itself.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { PreconditionFailedError, NotFoundError } from "#shared/errors.ts";
import { newWatermark, WatermarkSchema, type Watermark } from "#domain/watermark.ts";
import type { S3Store } from "./s3.ts";

/**
 * Optimistic concurrency, not transport retry (the SDK retries transport errors): how often a transition is
 * re-applied after another writer changed the watermark first. Writers of one table are few — its run, an operator —
 * but a window read as key ranges has a reader per range (up to MAX_RANGES) committing chunks to the one watermark.
 */
const CONFLICT_ATTEMPTS = 20;
/** After a lost race, a random pause of up to this many ms × the attempt, so writers that collided do not again. */
const CONFLICT_PAUSE_MS = 20;

export type StoredWatermark = { watermark: Watermark; etag: string };

/** The object at a watermark's key is not a v2 watermark (written by hand, by another tool, or cut short). */
export class InvalidWatermarkError extends Error {
  override readonly name = "InvalidWatermarkError";
}

export class WatermarkStore {
  private readonly s3: S3Store;
  private readonly bucket: string;

  constructor(s3: S3Store, bucket: string) {
    this.s3 = s3;
    this.bucket = bucket;
  }

  async get(key: string): Promise<StoredWatermark | undefined> {
    let stored: { value: unknown; etag: string };
    try {
      stored = await this.s3.getJson(this.bucket, key);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
    const parsed = WatermarkSchema.safeParse(stored.value);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
      throw new InvalidWatermarkError(
        `s3://${this.bucket}/${key} is not a valid v2 watermark (${problems}); reset it (mrsync watermark reset: the next run re-reads the table), or fix it by hand`,
      );
    }
    return { watermark: parsed.data, etag: stored.etag };
  }

  /**
   * Replaces an object that is not a v2 watermark (conditionally on the one read, so a concurrent writer still wins):
   * `build` gets the pending file keys the old object still lists, where they can be read.
   */
  async replaceInvalid(key: string, identity: { pipeline: string; table: string }, build: (pendingFiles: string[]) => Watermark): Promise<Watermark> {
    const stored = await this.s3.getJson(this.bucket, key);
    if (WatermarkSchema.safeParse(stored.value).success)
      throw new Error(`s3://${this.bucket}/${key} is a valid watermark of ${identity.pipeline}/${identity.table}: update it instead`);
    const files = (stored.value as { s3_state?: { backup_s3_files?: unknown } } | null)?.s3_state?.backup_s3_files;
    const pending = Array.isArray(files) ? files.filter((f): f is string => typeof f === "string") : [];
    const next = { ...build(pending), write_id: randomUUID() };
    await this.s3.putJson(this.bucket, key, next, { ifMatch: stored.etag });
    return next;
  }

  /**
   * Applies `transition` to the current watermark (a new one when absent) and writes the result conditionally.
   * The transition may throw (e.g. the lease is held): nothing is written then. `known`: the watermark as the caller
   * read it (with its ETag) — the first attempt writes on it without reading again (a GET less per chunk: ~20 ms on
   * S3), and a 412 sends it back to reading, as for any concurrent write.
   */
  async update(
    key: string,
    identity: { pipeline: string; table: string; strategy: Watermark["cdc_strategy"] },
    transition: (current: Watermark) => Watermark,
    now: () => Date = () => new Date(),
    known?: StoredWatermark,
  ): Promise<Watermark> {
    const writeId = randomUUID();
    for (let attempt = 1; ; attempt++) {
      const stored = attempt === 1 && known !== undefined ? known : await this.get(key);
      // Our own write landed and only its reply was lost: it is the result.
      if (stored?.watermark.write_id === writeId) return stored.watermark;
      const current = stored?.watermark ?? newWatermark(identity.pipeline, identity.table, identity.strategy, now());
      const transitioned = transition(current);
      // Nothing changed: nothing written (and no watermark created for a table no run ever began, e.g. refused at Begin).
      if (transitioned === current) return current;
      const next = { ...transitioned, write_id: writeId };
      try {
        await this.s3.putJson(this.bucket, key, next, stored === undefined ? { ifNoneMatch: "*" } : { ifMatch: stored.etag });
        return next;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError) || attempt >= CONFLICT_ATTEMPTS) throw error;
        await sleep(Math.random() * CONFLICT_PAUSE_MS * attempt);
      }
    }
  }
}
