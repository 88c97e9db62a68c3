/**
 * What `meshguard status` gets from the daemon (snake_case JSON, as `status --json` prints it):
 * the types and the client's check of their shape, so printing a status cannot fail half-way.
 */

import { ControlError } from "./control_error.ts";
import {
  BOOLEAN,
  BYTE_COUNT,
  checkEach,
  checkField,
  checkFields,
  checkObject,
  COUNT,
  type FieldCheck,
  isCount,
  isObject,
  isString,
  NUMBER,
  STRING,
  STRING_OR_NULL,
  STRINGS,
} from "./json_checks.ts";

/** Membership state of a peer as the daemon sees it. */
export type PeerState = "alive" | "suspect" | "dead" | "left";

/** One peer in `DaemonStatus.peers` (snake_case, as on the wire). */
export interface PeerStatus {
  /** authorized_keys file name; `peer-<hex8>` when --open or unnamed. */
  name: string;
  /**
   * The mesh DNS name it answers to here (`<name>.mesh`), or null when another member holds
   * that name; optional so older daemons' status still parses.
   */
  dns_name?: string | null;
  /** Ed25519 public key, base64. */
  public_key: string;
  /** X25519 (WireGuard) public key, base64. */
  wireguard_public_key: string;
  /** Mesh IPv4; null when another key holds it on this node (see `DaemonStatus.ipv4_conflicts`). */
  mesh_ipv4: string | null;
  mesh_ipv6: string;
  state: PeerState;
  /** Last known UDP endpoint, `host:port` (`[v6]:port`), or null. */
  endpoint: string | null;
  /**
   * The endpoint candidates the peer's own signed record advertises (what punches aim at);
   * optional so older daemons' status still parses.
   */
  candidates?: string[];
  /** ISO time of the last completed handshake, or null. */
  last_handshake: string | null;
  rx_bytes: number;
  tx_bytes: number;
  /** How WireGuard traffic reaches the peer: straight to its endpoint, or through a relay. */
  connection: "direct" | "relay";
  /** With "relay": the relaying member's name (absent otherwise). */
  relay?: string;
}

/** One pair a relay node serves: sender and destination by name, what went through. */
export interface RelayPairStatus {
  from: string;
  to: string;
  packets: number;
  bytes: number;
}

/**
 * The budgets a relay enforces (`--relay-rate`, `--relay-pairs`, else the defaults): each data
 * thread holds its own, so a sender gets these per thread its datagrams land on.
 */
export interface RelayLimitsStatus {
  /** Bytes and datagrams each sender may relay per second, per data thread. */
  bytes_per_second: number;
  packets_per_second: number;
  /** What each sender may relay at once (the buckets' size). */
  byte_burst: number;
  packet_burst: number;
  /** Active (sender, destination) pairs at most, per data thread. */
  max_pairs: number;
}

/** On a relay node (`--relay`): what it forwarded for others, summed over its data threads. */
export interface RelayServingStatus {
  /** The limits in force (absent from older daemons). */
  limits?: RelayLimitsStatus;
  forwarded_packets: number;
  forwarded_bytes: number;
  /** Datagrams dropped by reason: malformed, untrusted, rate, no-path, pair-cap. */
  dropped: Record<string, number>;
  /**
   * Handshake initiations that arrived before the relay had proven their sender's or
   * destination's address: held, then released (forwarded) or expired (absent from older daemons).
   */
  held?: Record<string, number>;
  /** The active pairs, busiest first. */
  pairs: RelayPairStatus[];
}

/** Why a contested mesh IPv4 went where it did (see `lib/daemon/ipv4_claims.ts`). */
export const IPV4_CONFLICT_REASONS = [
  "own-address",
  "pinned",
  "first-seen",
  "holder-absent",
  "undecided",
] as const;

/** One of IPV4_CONFLICT_REASONS. */
export type Ipv4ConflictReason = typeof IPV4_CONFLICT_REASONS[number];

/** A key named in an IPv4 conflict. */
export interface ConflictKey {
  name: string;
  /** Ed25519 public key, base64. */
  public_key: string;
}

/** A mesh IPv4 that more than one key derives, and where it goes on this node. */
export interface Ipv4Conflict {
  mesh_ipv4: string;
  /**
   * The key that holds it; null when it is this node's own ("own-address") or nobody's
   * ("undecided"). With "holder-absent" the holder is not a member right now.
   */
  holder: ConflictKey | null;
  reason: Ipv4ConflictReason;
  /** The other keys at this address: reachable over their mesh IPv6 only. */
  ipv6_only: ConflictKey[];
}

/** How the NAT in front of the mesh port maps it (`lib/stun/nat_mapping.ts`). */
export type NatMapping = "public" | "endpoint-independent" | "varies-by-destination" | "unknown";

/** What `status` shows of the NAT: the mesh port's reflexive endpoints and mapping behaviour. */
export interface NatStatus {
  mapped_v4: string | null;
  mapped_v6: string | null;
  mapping: NatMapping;
}

/** What `status` answers (snake_case JSON, as `meshguard status --json` prints it). */
export interface DaemonStatus {
  version: string;
  pid: number;
  interface: string;
  port: number;
  /** This node's Ed25519 public key, base64. */
  public_key: string;
  /** This node's X25519 public key, base64. */
  wireguard_public_key: string;
  mesh_ipv4: string;
  mesh_ipv6: string;
  /** This node's own mesh DNS name, or null (optional: older daemons). */
  dns_name?: string | null;
  /** Contested mesh names and who holds each here, one line each (optional: older daemons). */
  name_conflicts?: string[];
  /** True when the daemon admits any key (--open). */
  open: boolean;
  /** Orgs in `trusted_orgs/` (their certificates and vouches admit too); optional: older daemons. */
  trusted_orgs?: number;
  members: { alive: number; suspect: number; dead: number };
  /** With --open: the most members admitted without trust (`--max-members`); else null. */
  max_members: number | null;
  /** Newcomer keys refused because `max_members` was reached, since start. */
  refused_members: number;
  /** Contested mesh IPv4 addresses and who holds each on this node. */
  ipv4_conflicts: Ipv4Conflict[];
  /** The mesh port behind NAT, from STUN. */
  nat: NatStatus;
  peers: PeerStatus[];
  /** Service policies (`services/`) in force and their drop counters; absent before issue 14. */
  policy?: PolicyStatus;
  /** Present on a relay node only (and optional so older daemons' status still parses). */
  relay_serving?: RelayServingStatus;
  /** Admission control (`up --controller`); absent without it. */
  controller?: ControllerStatus;
}

/** Admission control as this node sees it (`lib/controller/controller_agent.ts`). */
export interface ControllerStatus {
  url: string;
  node_id: string;
  /** False after a failed poll (keys are kept until they expire; longer with fail-open). */
  reachable: boolean;
  /** ISO time of the last config poll the controller answered, or null (none yet). */
  last_poll: string | null;
  /** Why the last poll failed, or null. */
  last_error: string | null;
  /** The epoch whose pairwise PSKs are in force, or null (none). */
  epoch: number | null;
  /** Why this node itself is not allowed (then no peer is on the device), or null. */
  denied: string | null;
  /** Peers the controller admits now. */
  admitted: number;
  /** Members held off the device because the controller does not admit them (names). */
  gated: string[];
  fail_open: boolean;
}

/** The service policy part of a status (lib/daemon/node_policies.ts). */
export interface PolicyStatus {
  default: "allow" | "deny";
  files: number;
  rules: number;
  /** Why the last reload was refused (the policy before it stays in force), or null. */
  error: string | null;
  /** Dropped packets per rule (`source` is `file:line` or `default`). */
  drops: { source: string; rule: string; drops: number }[];
}

const PEER_STATES: readonly unknown[] = ["alive", "suspect", "dead", "left"];
const REASONS: readonly unknown[] = IPV4_CONFLICT_REASONS;

function checkPeer(value: unknown, where: string): void {
  checkObject(value, where);
  checkFields(value, where, {
    name: STRING,
    public_key: STRING,
    wireguard_public_key: STRING,
    mesh_ipv6: STRING,
    mesh_ipv4: STRING_OR_NULL,
    endpoint: STRING_OR_NULL,
    last_handshake: STRING_OR_NULL,
    state: [(v) => PEER_STATES.includes(v), "a peer state"],
  });
  checkFields(value, where, { dns_name: STRING_OR_NULL, candidates: STRINGS }, "optional");
  checkFields(value, where, {
    rx_bytes: BYTE_COUNT,
    tx_bytes: BYTE_COUNT,
    connection: [(v) => v === "direct" || v === "relay", "a connection"],
  });
  if (value.connection === "relay") checkField(value, "relay", where, isString, "a string");
}

function checkRelayServing(value: unknown, where: string): void {
  checkObject(value, where);
  checkFields(value, where, {
    forwarded_packets: COUNT,
    forwarded_bytes: BYTE_COUNT,
    dropped: [(v) => isObject(v) && Object.values(v).every(isCount), "an object of counts"],
  });
  checkFields(value, where, {
    held: [(v) => isObject(v) && Object.values(v).every(isCount), "an object of counts"],
  }, "optional");
  if ("limits" in value) {
    checkObject(value.limits, `${where}.limits`);
    checkFields(value.limits, `${where}.limits`, {
      bytes_per_second: BYTE_COUNT,
      packets_per_second: COUNT,
      byte_burst: BYTE_COUNT,
      packet_burst: COUNT,
      max_pairs: COUNT,
    });
  }
  checkEach(value, "pairs", where, (pair, at) => {
    checkObject(pair, at);
    checkFields(pair, at, { from: STRING, to: STRING, packets: COUNT, bytes: BYTE_COUNT });
  });
}

function checkConflictKey(value: unknown, where: string): void {
  checkObject(value, where);
  checkFields(value, where, { name: STRING, public_key: STRING });
}

function checkConflict(value: unknown, where: string): void {
  checkObject(value, where);
  checkFields(value, where, {
    mesh_ipv4: STRING,
    reason: [(v) => REASONS.includes(v), "a conflict reason"],
  });
  if (value.holder !== null) checkConflictKey(value.holder, `${where}.holder`);
  checkEach(value, "ipv6_only", where, checkConflictKey);
}

const MAPPINGS: readonly unknown[] = [
  "public",
  "endpoint-independent",
  "varies-by-destination",
  "unknown",
];
/** One of the NAT mapping behaviours. */
export const isMapping = (value: unknown) => MAPPINGS.includes(value);
/** A NAT mapping behaviour, as a field check. */
export const MAPPING: FieldCheck = [isMapping, "a mapping behaviour"];

/** Checks a NatStatus (`where` names it in the error). */
export function checkNat(value: unknown, where: string): void {
  checkObject(value, where);
  checkFields(value, where, {
    mapped_v4: STRING_OR_NULL,
    mapped_v6: STRING_OR_NULL,
    mapping: MAPPING,
  });
}

function checkPolicy(value: unknown, where: string): void {
  checkObject(value, where);
  checkFields(value, where, {
    default: [(v) => v === "allow" || v === "deny", "allow or deny"],
    files: COUNT,
    rules: COUNT,
    error: STRING_OR_NULL,
  });
  checkEach(value, "drops", where, (drop, at) => {
    checkObject(drop, at);
    checkFields(drop, at, { source: STRING, rule: STRING, drops: COUNT });
  });
}

function checkController(value: unknown, where: string): void {
  checkObject(value, where);
  checkFields(value, where, {
    url: STRING,
    node_id: STRING,
    reachable: BOOLEAN,
    fail_open: BOOLEAN,
    last_poll: STRING_OR_NULL,
    last_error: STRING_OR_NULL,
    denied: STRING_OR_NULL,
    epoch: [(v) => v === null || isCount(v), "a number or null"],
    admitted: COUNT,
    gated: STRINGS,
  });
}

/** Checks that `value` has DaemonStatus's shape (so printing it cannot fail half-way). */
export function checkDaemonStatus(value: unknown): DaemonStatus {
  if (!isObject(value)) throw new ControlError("the daemon sent an invalid status: not an object");
  const where = "status";
  checkFields(value, where, {
    version: STRING,
    interface: STRING,
    public_key: STRING,
    wireguard_public_key: STRING,
    mesh_ipv4: STRING,
    mesh_ipv6: STRING,
    pid: NUMBER,
    port: NUMBER,
    open: BOOLEAN,
    members: [isObject, "an object"],
  });
  checkFields(value.members as Record<string, unknown>, `${where}.members`, {
    alive: COUNT,
    suspect: COUNT,
    dead: COUNT,
  });
  checkFields(value, where, {
    max_members: [(v) => v === null || isCount(v), "a count or null"],
    refused_members: COUNT,
  });
  checkFields(value, where, {
    trusted_orgs: COUNT,
    dns_name: STRING_OR_NULL,
    name_conflicts: STRINGS,
  }, "optional");
  checkEach(value, "ipv4_conflicts", where, checkConflict);
  checkNat(value.nat, `${where}.nat`);
  checkEach(value, "peers", where, checkPeer);
  if (value.policy !== undefined) checkPolicy(value.policy, `${where}.policy`);
  if ("relay_serving" in value) checkRelayServing(value.relay_serving, `${where}.relay_serving`);
  if ("controller" in value) checkController(value.controller, `${where}.controller`);
  return value as unknown as DaemonStatus;
}
