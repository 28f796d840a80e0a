/**
 * Pure: each strategy's window rule, defined in the strategy's own module, by the strategy's name: validation and
 * cleanup bound windows without a table schema to build the strategy object from.
 */
import type { CdcStrategy } from "#config/schema.ts";
import { noWindows } from "./custom-sql.ts";
import { hybridWindows } from "./hybrid.ts";
import { keyWindows } from "./id-only.ts";
import { timestampOnlyWindows } from "./timestamp-only.ts";
import type { WindowRule } from "./types.ts";

export const WINDOW_RULES: Record<CdcStrategy, WindowRule> = {
  hybrid: hybridWindows,
  timestamp_only: timestampOnlyWindows,
  id_only: keyWindows(true),
  full_sync: keyWindows(false),
  custom_sql: noWindows,
};
