/**
 * RFC 3339 timestamps with any UTC offset, to microseconds (the proof of concept's emitter
 * writes microseconds, and replay protection compares them strictly).
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Microseconds since the Unix epoch of an RFC 3339 timestamp; null when it is not one. */
export function parseTimestampMicros(text: string): number | null {
  const match = RFC3339.exec(text);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return null;
  let offsetMinutes = 0;
  if (match[8] === undefined) {
    const offsetHours = Number(match[10]);
    const offsetMins = Number(match[11]);
    if (offsetHours > 23 || offsetMins > 59) return null;
    offsetMinutes = (match[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  // Digits past microseconds are dropped, not rounded: ordering stays that of the text.
  const micros = Number((match[7] ?? "").padEnd(6, "0").slice(0, 6));
  const utcMs = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  return utcMs * 1000 + micros;
}

/** `2026-12-01T02:50:25.123456Z` for microseconds since the epoch. */
export function formatTimestampMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // ...ss.mmmZ
  const sub = String(micros - ms * 1000).padStart(3, "0");
  return `${iso.slice(0, -1)}${sub}Z`;
}

/** `2026-12-01T02:50:25Z` for milliseconds since the epoch (whole seconds, as expiries are). */
export function formatUtcSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
