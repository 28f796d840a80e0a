/** Pure: MySQL DATETIME text ↔ the watermark's ISO form, comparison, and the lookback rewind. */

/** "YYYY-MM-DD HH:MM:SS[.f…]" padded to six fraction digits, so text order is time order. */
export function normaliseTimestamp(text: string): string {
  const [date = "", time = "00:00:00"] = text.trim().replace("T", " ").replace(/Z$/, "").split(" ");
  const [whole = "00:00:00", fraction = ""] = time.split(".");
  return `${date} ${whole}.${fraction.padEnd(6, "0").slice(0, 6)}`;
}

export function compareTimestamps(a: string, b: string): number {
  const x = normaliseTimestamp(a);
  const y = normaliseTimestamp(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** MySQL text → the watermark's "2025-11-27T15:30:00.123456Z". */
export function toIsoTimestamp(text: string): string {
  return `${normaliseTimestamp(text).replace(" ", "T")}Z`;
}

/** The watermark's ISO form → MySQL's text, bindable as a DATETIME(6) parameter. */
export function fromIsoTimestamp(iso: string): string {
  return normaliseTimestamp(iso);
}

/** `seconds` before the timestamp, exactly (µs kept), in MySQL's text form. */
export function rewind(text: string, seconds: number): string {
  const normal = normaliseTimestamp(text);
  const ms = Date.parse(`${normal.slice(0, 19).replace(" ", "T")}Z`);
  if (Number.isNaN(ms)) return normal;
  const earlier = new Date(ms - seconds * 1000).toISOString().slice(0, 19).replace("T", " ");
  return `${earlier}.${normal.slice(20)}`;
}
