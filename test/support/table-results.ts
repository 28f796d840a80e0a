/** A table's failed line in a run summary, as FailTable returns it (counts zero unless given). */
import type { TableResult } from "#shared/steps.ts";

export const failedLine = (table: string, errorType: string, errorMessage: string, at?: string): TableResult => ({
  table,
  status: "failed",
  rows_processed: 0,
  files_created: 0,
  bytes_written: 0,
  rows_loaded: 0,
  duration_seconds: 0,
  error_type: errorType,
  error_message: errorMessage,
  ...(at === undefined ? {} : { failed_at: at }),
});
