/**
 * Pure: the source's time zone. A DATETIME column holds whatever wall-clock time the application wrote — often its
 * own local time (`NOW()` in a session at '+08:00') — so "now" for a DATETIME cursor is the source's clock read in
 * that zone; a TIMESTAMP column is read in UTC (the session's '+00:00'). AWS DMS (ServerTimezone), Debezium
 * (database.connectionTimeZone) and Airbyte (serverTimezone) let the zone be set the same way.
 */
import { normaliseTimestamp } from "./timestamps.ts";

/** `±hh:mm` (MySQL's own offset form). */
const OFFSET = /^([+-])(\d{2}):(\d{2})$/;

/** A zone as config names it: an IANA name ("Asia/Shanghai") or a fixed offset ("+08:00"). */
export function isTimeZone(text: string): boolean {
  const offset = OFFSET.exec(text);
  if (offset !== null) return Number(offset[2]) <= 14 && Number(offset[3]) < 60;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: text });
    return text.includes("/") || text === "UTC";
  } catch {
    return false;
  }
}

const epochMs = (text: string) => Date.parse(`${normaliseTimestamp(text).slice(0, 23).replace(" ", "T")}Z`);
const textOf = (ms: number, micros: string) => `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}.${micros}`;

/** The wall-clock time in `zone` of a UTC instant given as MySQL text (µs kept). */
export function wallClockIn(zone: string, utc: string): string {
  const normal = normaliseTimestamp(utc);
  const micros = normal.slice(20);
  const ms = Date.parse(`${normal.slice(0, 19).replace(" ", "T")}Z`);
  const offset = OFFSET.exec(zone);
  if (offset !== null) {
    const minutes = (offset[1] === "-" ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3]));
    return textOf(ms + minutes * 60_000, micros);
  }
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}.${micros}`;
}

/** `text` moved by the difference between two readings of one instant (a zone's clock and UTC's). */
export function shiftBy(text: string, zoneNow: string, utcNow: string): string {
  const normal = normaliseTimestamp(text);
  return textOf(epochMs(normal) + (epochMs(zoneNow) - epochMs(utcNow)), normal.slice(20));
}

/** The earlier of two MySQL texts. */
export const earlier = (a: string, b: string): string => (normaliseTimestamp(a) <= normaliseTimestamp(b) ? normaliseTimestamp(a) : normaliseTimestamp(b));

/** Seconds from `a` to `b` (both MySQL text in one zone). */
export const secondsBetween = (a: string, b: string): number => (epochMs(b) - epochMs(a)) / 1000;

/** One microsecond before `text`. */
export function justBefore(text: string): string {
  const normal = normaliseTimestamp(text);
  const micros = Number(normal.slice(20));
  if (micros > 0) return `${normal.slice(0, 20)}${String(micros - 1).padStart(6, "0")}`;
  return textOf(epochMs(normal) - 1000, "999999");
}
