/** Pure: each strategy's window rule (types.ts), by name — for the modules that hold a strategy's name, not its object. */
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
