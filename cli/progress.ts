/**
 * Progress of a local sync: tables done, rows and MB/s per table. On a terminal one line is rewritten in place;
 * otherwise (CI, Airflow logs) a plain line per finished table. Silent with --quiet or --json.
 */
import type { Progress, TableResult } from "#shared/steps.ts";

export class SyncProgress {
  private readonly stream: NodeJS.WriteStream;
  private readonly live: boolean;
  private readonly enabled: boolean;
  private readonly total: number;
  private done = 0;

  constructor(total: number, enabled: boolean, stream: NodeJS.WriteStream = process.stderr) {
    this.total = total;
    this.enabled = enabled;
    this.live = enabled && stream.isTTY;
    this.stream = stream;
  }

  /** A runner step ended: ExtractChunk moves the live line; Finish/FailTable count a table as done. */
  step(step: string, input: unknown, output: unknown): void {
    if (!this.enabled) return;
    const table = (input as { table?: string }).table ?? "?";
    if (step === "ExtractChunk" && this.live) {
      const p = output as Progress;
      const rate = p.extractMs <= 0 ? 0 : p.bytes / (1024 * 1024) / (p.extractMs / 1000);
      this.stream.write(`\r[${this.done}/${this.total} tables] ${table}: ${p.rows} rows, ${p.files} files, ${rate.toFixed(1)} MB/s   `);
    }
    if (step === "Finish" || step === "FailTable") {
      this.done++;
      const r = output as TableResult;
      const line = `[${this.done}/${this.total} tables] ${table}: ${r.status}, ${r.rows_processed} rows read, ${r.rows_loaded} loaded, ${r.duration_seconds}s`;
      this.stream.write(this.live ? `\r${line}\n` : `${line}\n`);
    }
  }
}
