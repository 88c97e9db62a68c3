/**
 * The endpoint candidates a node puts in its self-signed membership record, from three sources:
 * addresses announced by the operator (`up --announce`: a forwarded or known public address),
 * reflexive addresses (what STUN saw our mesh socket's NAT mapping as) and interface addresses
 * (`local_endpoints.ts`). Peers probe all of them when they punch, so what is kept under the
 * record's bound matters more than the order; the order still matters before any contact (the
 * first candidate is where probes go until a datagram arrives).
 */

import { MAX_ENDPOINTS } from "../swim/constants.ts";

/** Where candidates come from. */
export interface CandidateSources {
  /** `--announce` addresses, resolved to numeric `ip:port`. */
  announced: readonly string[];
  /** Interface addresses with the mesh port, IPv4 first. */
  local: readonly string[];
  /** Reflexive (STUN) addresses of the mesh socket. */
  reflexive: readonly string[];
}

/**
 * The advertised list, at most MAX_ENDPOINTS, duplicates removed: announced first (the
 * operator said so), then the first interface address (peers on our LAN reach us there
 * without any NAT), then reflexive ones (the way in through our NAT), then other interface
 * addresses.
 */
export function endpointCandidates(sources: CandidateSources): string[] {
  const ordered = [
    ...sources.announced,
    ...sources.local.slice(0, 1),
    ...sources.reflexive,
    ...sources.local.slice(1),
  ];
  return [...new Set(ordered)].slice(0, MAX_ENDPOINTS);
}

/** True when two candidate lists are the same (same order). */
export function sameCandidates(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}
