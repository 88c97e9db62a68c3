/**
 * The reference evaluation of a policy set, on plain values: peer policy → org policy → global
 * → default, first match wins, a level without a match falls through. The workers run the same
 * rules compiled into shared memory (`policy_table.ts`); `service show` and the tests use this.
 */

import type { PolicyAction, PolicyFile, PolicyRule, PolicySet } from "./policy_rules.ts";

/** TCP's IP protocol number. */
export const IP_PROTOCOL_TCP = 6;
/** UDP's IP protocol number. */
export const IP_PROTOCOL_UDP = 17;

/** What decided a packet: a rule (and its level) or the default. */
export interface PolicyVerdict {
  action: PolicyAction;
  /** The deciding rule, or null when the default did. */
  rule: PolicyRule | null;
  level: "peer" | "org" | "global" | "default";
}

/**
 * True when `rule` covers a packet of IP protocol `protocol` to `port` (-1: no port known,
 * e.g. a later fragment or a protocol without ports; only `all`-port rules cover those).
 */
export function ruleMatches(rule: PolicyRule, protocol: number, port: number): boolean {
  if (rule.protocol === "tcp" && protocol !== IP_PROTOCOL_TCP) return false;
  if (rule.protocol === "udp" && protocol !== IP_PROTOCOL_UDP) return false;
  if (rule.anyPort) return true;
  return port >= 0 && port >= rule.low && port <= rule.high &&
    (protocol === IP_PROTOCOL_TCP || protocol === IP_PROTOCOL_UDP);
}

function firstMatch(file: PolicyFile | null | undefined, protocol: number, port: number) {
  if (!file) return null;
  for (const rule of file.rules) if (ruleMatches(rule, protocol, port)) return rule;
  return null;
}

/**
 * The verdict for a packet from the peer with Ed25519 key `peerKey` (base64) whose org key is
 * `orgKey` (undefined until certificates exist), of IP protocol `protocol` to `port`.
 */
export function evaluatePolicy(
  set: PolicySet,
  peerKey: string | undefined,
  orgKey: string | undefined,
  protocol: number,
  port: number,
): PolicyVerdict {
  const levels = [
    ["peer", peerKey === undefined ? null : set.peers.get(peerKey)],
    ["org", orgKey === undefined ? null : set.orgs.get(orgKey)],
    ["global", set.global],
  ] as const;
  for (const [level, file] of levels) {
    const rule = firstMatch(file, protocol, port);
    if (rule !== null) return { action: rule.action, rule, level };
  }
  return { action: set.defaultAction, rule: null, level: "default" };
}
