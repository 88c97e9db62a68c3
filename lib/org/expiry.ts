/** The `--expires` value of `org-sign` and `org-delegate`: when a certificate stops admitting. */

import { OrgFormatError } from "./org_errors.ts";

const UNITS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3_600,
  d: 86_400,
  w: 604_800,
  y: 31_536_000,
};

/**
 * Parses `never`/`0` (0 = never), unix seconds (`1767225600`), an RFC 3339 date or date-time
 * (`2027-01-01`, `2027-01-01T00:00:00Z`) or a duration from now (`90d`, `12h`, `2w`, `1y`).
 * Returns unix seconds; a time not after `now` is refused (it would be expired at once).
 */
export function parseExpiry(text: string, now: number): number {
  const value = text.trim();
  if (value === "never" || value === "0") return 0;
  let at: number;
  const duration = /^(\d{1,9})([smhdwy])$/.exec(value);
  if (/^\d{1,15}$/.test(value)) {
    at = Number(value);
  } else if (duration) {
    at = now + Number(duration[1]) * UNITS[duration[2]];
  } else if (
    /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2}))?$/.test(value)
  ) {
    const ms = Date.parse(value.length === 10 ? value + "T00:00:00Z" : value.replace(" ", "T"));
    if (Number.isNaN(ms)) throw new OrgFormatError(`--expires '${text}' is not a valid date`);
    at = Math.floor(ms / 1000);
  } else {
    throw new OrgFormatError(
      `--expires '${text}' is not an RFC 3339 date, unix seconds, a duration like 90d, or 'never'`,
    );
  }
  if (at <= now) {
    throw new OrgFormatError(`--expires '${text}' is not in the future (${formatUnix(at)})`);
  }
  return at;
}

/** Unix seconds as RFC 3339 UTC, or "never" for 0. */
export function formatUnix(seconds: number): string {
  if (seconds === 0) return "never";
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? `${seconds}` : date.toISOString().replace(".000Z", "Z");
}
