import { CliError } from "./output.ts";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "90", "30s", "5m", "1h", "7d" → seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd])?$/.exec(text.trim());
  if (match === null) throw new CliError(`not a duration: ${text} (use 30s, 5m, 1h, 7d or seconds)`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] ?? "s"] ?? 1);
}
