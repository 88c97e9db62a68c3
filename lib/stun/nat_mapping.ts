/**
 * NAT mapping behaviour from STUN results, as `tailscale netcheck` judges it (RFC 4787 terms):
 * the mapped address equals a local one (public: no NAT on this path); two servers at different
 * IPs saw the same mapped address (endpoint-independent mapping: a punched hole works for
 * anyone); they saw different ones (the mapping varies by destination: "symmetric", punching
 * alone rarely works); too little to tell (unknown). Filtering is not tested and hairpinning is
 * not probed (firewalls take hairpin probes for LAND attacks; tailscale dropped them).
 */

import { type Endpoint, formatEndpoint, parseEndpoint } from "../wireguard/endpoint.ts";
import { formatIpAddress } from "../net/ip_address.ts";
import type { StunServerResult } from "./stun_client.ts";

/** How the NAT in front of the mesh socket maps it (one IP family). */
export type MappingBehaviour =
  | "public"
  | "endpoint-independent"
  | "varies-by-destination"
  | "unknown";

/** What the STUN results say about one family. */
export interface FamilyMapping {
  /** The mapped endpoint (the first answer's), or null. */
  mapped: string | null;
  mapping: MappingBehaviour;
}

/** What the STUN results say, per family, and overall (IPv4's, else IPv6's). */
export interface NatMapping {
  v4: FamilyMapping;
  v6: FamilyMapping;
  mapping: MappingBehaviour;
}

function parsed(text: string): Endpoint | null {
  try {
    return parseEndpoint(text);
  } catch {
    return null;
  }
}

function classifyFamily(
  results: readonly StunServerResult[],
  locals: ReadonlySet<string>,
  size: 4 | 16,
): FamilyMapping {
  const answered = results.flatMap((result) => {
    const server = parsed(result.server);
    const mapped = result.mapped === null ? null : parsed(result.mapped);
    if (server === null || mapped === null || server.address.length !== size) return [];
    return [{ serverIp: formatIpAddress(server.address), mapped: result.mapped! }];
  });
  if (answered.length === 0) return { mapped: null, mapping: "unknown" };
  const mapped = answered[0].mapped;
  if (answered.some((answer) => locals.has(answer.mapped))) return { mapped, mapping: "public" };
  const distinctMapped = new Set(answered.map((answer) => answer.mapped));
  if (distinctMapped.size > 1) return { mapped, mapping: "varies-by-destination" };
  const distinctServers = new Set(answered.map((answer) => answer.serverIp));
  return {
    mapped,
    mapping: distinctServers.size > 1 ? "endpoint-independent" : "unknown",
  };
}

/**
 * Classifies the mapping from `results` and the node's local endpoints (numeric `ip:port` of the
 * mesh socket on each local address). Pure.
 */
export function classifyNatMapping(
  results: readonly StunServerResult[],
  localEndpoints: readonly string[],
): NatMapping {
  const locals = new Set(
    localEndpoints.flatMap((local) => {
      const endpoint = parsed(local);
      return endpoint === null ? [] : [formatEndpoint(endpoint)];
    }),
  );
  const v4 = classifyFamily(results, locals, 4);
  const v6 = classifyFamily(results, locals, 16);
  return { v4, v6, mapping: v4.mapped !== null ? v4.mapping : v6.mapping };
}

/** One sentence on what `mapping` means for direct connections between members. */
export function describeMapping(mapping: MappingBehaviour): string {
  switch (mapping) {
    case "public":
      return "No NAT on this path: members can reach this node directly at its own address.";
    case "endpoint-independent":
      return "Behind a NAT that keeps one outside port for every destination: direct connections work by hole punching with most peers.";
    case "varies-by-destination":
      return "Behind a NAT that picks a new outside port per destination (symmetric): direct connections work only with public or endpoint-independent peers; others need a relay.";
    case "unknown":
      return "Not enough STUN answers to tell (two servers at different IPs are needed): direct connections may or may not work.";
  }
}
