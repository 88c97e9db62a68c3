/**
 * Names of trusted peers and orgs are DNS labels: they become file names and, later, mesh
 * host names, so anything that could escape a folder or confuse a resolver is refused.
 */

import { InvalidNameError } from "../errors.ts";

/** Longest DNS label (RFC 1035 §2.3.4). */
export const MAX_DNS_LABEL_LENGTH = 63;

const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** True when `name` is a lowercase DNS label: [a-z0-9-], 1–63, no leading/trailing '-'. */
export function isDnsLabel(name: string): boolean {
  return name.length <= MAX_DNS_LABEL_LENGTH && LABEL.test(name);
}

/** Throws InvalidNameError with the specific reason unless `name` is a DNS label. */
export function assertDnsLabel(name: string, what = "name"): void {
  if (isDnsLabel(name)) return;
  const shown = JSON.stringify(name);
  let reason: string;
  if (name.length === 0) reason = "is empty";
  else if (name.length > MAX_DNS_LABEL_LENGTH) {
    reason = `is ${name.length} characters long (at most ${MAX_DNS_LABEL_LENGTH})`;
  } else if (/[A-Z]/.test(name) && isDnsLabel(name.toLowerCase())) {
    reason = `has uppercase letters (use ${JSON.stringify(name.toLowerCase())})`;
  } else if (name.startsWith("-") || name.endsWith("-")) {
    reason = "starts or ends with '-'";
  } else reason = "may only contain a-z, 0-9 and '-'";
  throw new InvalidNameError(`${what} ${shown} ${reason}`);
}
