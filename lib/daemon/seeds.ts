/** Turns `--seed host:port` values (and `--stun` servers) into the numeric addresses membership and STUN use. */

import { lookup } from "node:dns/promises";
import { parseIpv4, parseIpv6 } from "../net/ip_address.ts";
import { formatEndpoint } from "../wireguard/endpoint.ts";
import type { SeedSpec } from "../swim/address.ts";
import type { Logger } from "../log/logger.ts";
import type { StunSetting } from "./node_stun.ts";

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

/** `--stun` as `up` takes it: server names not resolved yet. */
export type StunOption =
  | { kind: "members" }
  | { kind: "servers"; servers: SeedSpec[] }
  | { kind: "off" };

/** The STUN setting with `--stun` names resolved (what it means, and each failure, is logged). */
export async function resolveStunSetting(
  stun: StunOption | undefined,
  log: Logger,
): Promise<StunSetting> {
  const setting = stun ?? { kind: "members" };
  if (setting.kind !== "servers") {
    log.info(
      setting.kind === "off"
        ? "STUN off (--stun none): the mapping of the mesh port is not learnt"
        : "STUN: asking members (no --stun servers)",
    );
    return setting;
  }
  const { addresses, problems } = await resolveSeeds(setting.servers);
  for (const problem of problems) {
    log.warn(`STUN server ${problem.seed} not resolved: ${problem.message}`);
  }
  log.info(`STUN servers: ${addresses.join(", ") || "none resolved"}`);
  return { kind: "servers", servers: addresses };
}
