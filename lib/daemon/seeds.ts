/** Turns `--seed host:port` values into the numeric addresses membership joins through. */

import { lookup } from "node:dns/promises";
import { parseIpv4, parseIpv6 } from "../net/ip_address.ts";
import { formatEndpoint } from "../wireguard/endpoint.ts";
import type { SeedSpec } from "../swim/address.ts";

/** A seed that could not be resolved, and why. */
export interface SeedProblem {
  seed: string;
  message: string;
}

/** Resolves every seed (IP literals as they are, names through the system resolver). */
export async function resolveSeeds(
  seeds: SeedSpec[],
): Promise<{ addresses: string[]; problems: SeedProblem[] }> {
  const addresses: string[] = [];
  const problems: SeedProblem[] = [];
  for (const seed of seeds) {
    const literal = parseIpv4(seed.host) ?? parseIpv6(seed.host);
    if (literal !== null) {
      addresses.push(formatEndpoint({ address: literal, port: seed.port }));
      continue;
    }
    try {
      const found = await lookup(seed.host, { all: true });
      for (const entry of found) {
        const address = parseIpv4(entry.address) ?? parseIpv6(entry.address);
        if (address !== null) addresses.push(formatEndpoint({ address, port: seed.port }));
      }
      if (found.length === 0) problems.push({ seed: seed.host, message: "no addresses" });
    } catch (error) {
      problems.push({ seed: seed.host, message: (error as Error).message });
    }
  }
  return { addresses: [...new Set(addresses)], problems };
}
