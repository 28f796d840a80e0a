/**
 * The EMF metric names the handlers emit (namespace and dimensions: powertools.ts) and the stack's dashboard and
 * alarms graph (lib/constructs/monitoring.ts): written once, so a renamed metric cannot leave a graph empty.
 */
export const METRICS = {
  /** ExtractChunk: rows read from MySQL into the chunk's file. */
  RowsProcessed: "RowsProcessed",
  BytesWritten: "BytesWritten",
  ChunkDuration: "ChunkDuration",
  /** Rows found committed into a window after it was read (the window is read again: a live source, not a failure). */
  LateRows: "LateRows",
  /** Windows read again for such rows. */
  WindowsReread: "WindowsReread",
  /** Mode reconcile: rows missing, extra or different in Redshift. */
  ReconcileDifferences: "ReconcileDifferences",
  /** Finish: the table's run, start to end. */
  SyncDuration: "SyncDuration",
  SyncSuccess: "SyncSuccess",
  /** FailTable. */
  SyncFailure: "SyncFailure",
  /** Finish: what the table's run cost, estimated (USD; domain/cost.ts). */
  TableCostUsd: "TableCostUsd",
  /** Summarize: what the whole run cost, estimated (USD; its loads' Redshift time merged where they overlapped). */
  RunCostUsd: "RunCostUsd",
} as const;
