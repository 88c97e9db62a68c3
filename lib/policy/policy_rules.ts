/**
 * Service policy rules as the original meshguard's `services/` files spell them (spec §3.6):
 * `allow|deny tcp|udp|all <port|lo-hi|all>` and the shorthand `allow|deny all`, grouped into
 * files (default, global, per peer, per org). Types and limits only; parsing is
 * `policy_parser.ts`, evaluation `policy_evaluator.ts` (reference) and `policy_table.ts` (workers).
 */

/** What a rule or the default does with a packet. */
export type PolicyAction = "allow" | "deny";

/** Which transport a rule covers; `all` also covers every other IP protocol (not ICMP: it always passes). */
export type PolicyProtocol = "tcp" | "udp" | "all";

/** One rule line. `low`/`high` 0..65535; `anyPort` for `all` (also matches packets without ports). */
export interface PolicyRule {
  action: PolicyAction;
  protocol: PolicyProtocol;
  low: number;
  high: number;
  anyPort: boolean;
  /** Where it came from, `peer/db.policy:3`, for errors and counters. */
  source: string;
}

/** The rules of one policy file, in file order (first match wins). */
export interface PolicyFile {
  /** Path relative to `services/`, e.g. `global.policy`. */
  name: string;
  rules: PolicyRule[];
}

/** A parsed `services/` folder: everything the daemon enforces. */
export interface PolicySet {
  /** `services/default`; allow when missing. */
  defaultAction: PolicyAction;
  global: PolicyFile | null;
  /** Peer policies by the peer's Ed25519 key (base64). */
  peers: Map<string, PolicyFile>;
  /** Org policies by the org's Ed25519 key (base64). */
  orgs: Map<string, PolicyFile>;
}

/** The original's limits, kept: rules per file, bytes per file, peer and org files. */
export const POLICY_LIMITS = {
  rulesPerFile: 64,
  fileBytes: 4096,
  peerFiles: 64,
  orgFiles: 16,
} as const;

/** The policy with no files: everything passes. */
export function emptyPolicySet(): PolicySet {
  return { defaultAction: "allow", global: null, peers: new Map(), orgs: new Map() };
}

/** A rule as its file line spells it (`allow tcp 80`, `deny udp 1000-2000`, `allow all`). */
export function formatRule(rule: Omit<PolicyRule, "source">): string {
  if (rule.protocol === "all" && rule.anyPort) return `${rule.action} all`;
  const ports = rule.anyPort
    ? "all"
    : rule.low === rule.high
    ? `${rule.low}`
    : `${rule.low}-${rule.high}`;
  return `${rule.action} ${rule.protocol} ${ports}`;
}

/** True when `set` can drop anything (a deny default or any deny rule). */
export function policyCanDrop(set: PolicySet): boolean {
  if (set.defaultAction === "deny") return true;
  const files = [set.global, ...set.peers.values(), ...set.orgs.values()];
  return files.some((file) => file?.rules.some((rule) => rule.action === "deny") ?? false);
}
