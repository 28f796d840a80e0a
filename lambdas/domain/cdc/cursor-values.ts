/**
 * Pure: whether an operator's cursor value can exist in its column (`mrsync watermark set`). A value MySQL could never
 * hold — 2025-02-30, an id beyond BIGINT, a string longer than the column — would sit in the watermark and be bound
 * into every later query: Redshift refuses an impossible date in validation, and an id beyond the type makes the
 * table read nothing forever. Refused before anything is written.
 */
import { codePoints } from "#config/table-key.ts";
import type { SourceColumn } from "#domain/table-schema.ts";

const INTEGER_BITS: Record<string, number> = { tinyint: 8, smallint: 16, mediumint: 24, int: 32, integer: 32, bigint: 64 };

/** "YYYY-MM-DD[ HH:MM:SS[.ffffff]]" that names a real instant (the calendar's days, 24-hour clock); else why not. */
export function temporalProblem(text: string, withTime: boolean): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/.exec(text.trim());
  if (match === null) return `must look like ${withTime ? "2025-11-27 15:30:00.123456" : "2025-11-27"}`;
  const [, y = "", m = "", d = "", hh = "0", mm = "0", ss = "0"] = match;
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return `${y}-${m}-${d} is not a day of the calendar`;
  }
  if (Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59) return `${hh}:${mm}:${ss} is not a time of day`;
  return undefined;
}

/** Why `text` cannot be a value of the column (its COLUMN_TYPE as the source describes it now), or undefined. */
export function cursorValueProblem(column: SourceColumn, text: string): string | undefined {
  const type = column.columnType.toLowerCase();
  const name = `${column.name} (${column.columnType})`;
  const base = column.dataType.toLowerCase();
  const bits = INTEGER_BITS[base];
  if (bits !== undefined || base === "year") {
    if (!/^-?\d+$/.test(text)) return `${name}: ${JSON.stringify(text)} is not an integer`;
    const unsigned = type.includes("unsigned");
    const width = bits ?? 16;
    const [min, max] = unsigned ? [0n, 2n ** BigInt(width) - 1n] : [-(2n ** BigInt(width - 1)), 2n ** BigInt(width - 1) - 1n];
    const value = BigInt(text);
    if (base === "year" ? value < 0n || value > 2155n : value < min || value > max) {
      return `${name}: ${text} is outside the column's range ${base === "year" ? "0…2155" : `${min}…${max}`}`;
    }
    return undefined;
  }
  if (base === "decimal" || base === "numeric") {
    const match = /^-?(\d+)(?:\.(\d+))?$/.exec(text);
    if (match === null) return `${name}: ${JSON.stringify(text)} is not a decimal number`;
    const precision = column.numericPrecision ?? 10;
    const scale = column.numericScale ?? 0;
    const whole = (match[1] ?? "").replace(/^0+(?=\d)/, "");
    if ((match[2] ?? "").length > scale || whole.length > precision - scale) return `${name}: ${text} does not fit DECIMAL(${precision},${scale})`;
    return undefined;
  }
  if (base === "date" || base === "datetime" || base === "timestamp") {
    const problem = temporalProblem(text, base !== "date");
    if (problem !== undefined) return `${name}: ${JSON.stringify(text)}: ${problem}`;
    const normal = text.trim().replace("T", " ");
    if (base === "timestamp" && (normal < "1970-01-01 00:00:01" || normal > "2038-01-19 03:14:07.999999")) {
      return `${name}: ${text} is outside TIMESTAMP's range 1970-01-01 00:00:01 … 2038-01-19 03:14:07.999999 (UTC)`;
    }
    if (normal < "1000-01-01") return `${name}: ${text} is before ${base.toUpperCase()}'s range (1000-01-01 on)`;
    return undefined;
  }
  if (base === "binary" || base === "varbinary" || base.endsWith("blob")) {
    if (!/^0x([0-9a-f]{2})*$/i.test(text)) return `${name}: ${JSON.stringify(text)} is not 0x-prefixed hex`;
    const bytes = (text.length - 2) / 2;
    if (column.characterMaximumLength !== null && bytes > column.characterMaximumLength)
      return `${name}: ${bytes} bytes, the column holds ${column.characterMaximumLength}`;
    return undefined;
  }
  const characters = codePoints(text);
  if (column.characterMaximumLength !== null && characters > column.characterMaximumLength) {
    return `${name}: ${characters} characters, the column holds ${column.characterMaximumLength}`;
  }
  return undefined;
}
