/**
 * A node's STUN: which servers it asks (`--stun HOST:PORT`, or by default members, or none),
 * the client that asks them from the mesh port, and what the answers say (`status`, `netcheck`).
 *
 * Default (no `--stun`): no third party. Every member answers Binding requests on its mesh port
 * (the data workers do), so the node asks up to MEMBER_STUN_SERVERS trusted, alive members whose
 * address membership verified (a ping there was acked), that look public, at different IPs.
 * Two answers from different IPs are what the mapping classification needs.
 */

import type { MemberInfo } from "../swim/events.ts";
import { StunClient, type StunClientOptions } from "../stun/stun_client.ts";
import { classifyNatMapping, describeMapping } from "../stun/nat_mapping.ts";
import { isPublicLooking } from "../stun/public_address.ts";
import { formatIpAddress } from "../net/ip_address.ts";
import { formatEndpoint, parseEndpoint } from "../wireguard/endpoint.ts";
import type { NatStatus, NetcheckReport } from "../control/control_protocol.ts";
import { NatType, type NatTypeCode } from "../swim/records.ts";

/** Members asked in the default mode. */
export const MEMBER_STUN_SERVERS = 2;

/** Punches ask STUN again at most this often (attempts back off from 2 s anyway). */
const PUNCH_STUN_GAP_MS = 5_000;

/** Where STUN answers come from. */
export type StunSetting =
  | { kind: "members" }
  | { kind: "servers"; servers: string[] }
  | { kind: "off" };

function parsedOrNull(address: string) {
  try {
    return parseEndpoint(address);
  } catch {
    return null;
  }
}

/**
 * Up to `count` member addresses to ask: alive, trusted, verified, public-looking, not ours, at
 * distinct IPs; sorted so the choice is stable while membership does not change.
 */
export function chooseMemberServers(
  members: readonly MemberInfo[],
  isTrusted: (key: Uint8Array) => boolean,
  own: ReadonlySet<string>,
  count = MEMBER_STUN_SERVERS,
): string[] {
  const candidates: { address: string; ip: string }[] = [];
  for (const member of members) {
    if (member.state !== "alive" || member.verified === null || !isTrusted(member.publicKey)) {
      continue;
    }
    const endpoint = parsedOrNull(member.verified);
    if (endpoint === null || !isPublicLooking(endpoint.address)) continue;
    const address = formatEndpoint(endpoint);
    if (own.has(address)) continue;
    candidates.push({ address, ip: formatIpAddress(endpoint.address) });
  }
  candidates.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const chosen: string[] = [];
  const ips = new Set<string>();
  for (const candidate of candidates) {
    if (chosen.length >= count) break;
    if (ips.has(candidate.ip)) continue;
    ips.add(candidate.ip);
    chosen.push(candidate.address);
  }
  return chosen;
}

/** The STUN side a node starts with, started at `now` (null: `--stun none`). */
export function startNodeStun(
  setting: StunSetting,
  localEndpoints: string[],
  options: StunClientOptions,
  now: number,
): NodeStun | null {
  if (setting.kind === "off") return null;
  const stun = new NodeStun(setting, localEndpoints, options);
  stun.start(now);
  return stun;
}

/** A node's STUN client and its server choice. */
export class NodeStun {
  readonly client: StunClient;
  readonly setting: StunSetting;
  #local: string[] = [];
  #own = new Set<string>();
  /** STUN rounds already reported by `newMapping`. */
  #roundsSeen = 0;
  /** Punch attempts (asked or answered) seen, and when one last made us ask STUN again. */
  #punchesSeen = 0;
  #punchStunAt = -Infinity;

  constructor(setting: StunSetting, localEndpoints: string[], options: StunClientOptions = {}) {
    this.setting = setting;
    this.setLocalEndpoints(localEndpoints);
    this.client = new StunClient(options);
  }

  /** The mesh port's local endpoints (a mapped address among them means "public"). */
  setLocalEndpoints(localEndpoints: string[]): void {
    this.#local = [...localEndpoints];
    this.#own = new Set(localEndpoints.flatMap((local) => {
      const endpoint = parsedOrNull(local);
      return endpoint === null ? [] : [formatEndpoint(endpoint)];
    }));
  }

  /** Starts with the configured servers (members are chosen as membership learns them). */
  start(now: number): void {
    if (this.setting.kind === "servers") this.client.setServers(this.setting.servers, now);
  }

  /** In the default mode: asks the members `chooseMemberServers` picks from `members`. */
  followMembers(
    members: readonly MemberInfo[],
    isTrusted: (key: Uint8Array) => boolean,
    now: number,
  ): void {
    if (this.setting.kind !== "members") return;
    const chosen = chooseMemberServers(members, isTrusted, this.#own);
    const current = this.client.servers;
    if (chosen.length === current.length && chosen.every((s, i) => s === current[i])) return;
    this.client.setServers(chosen, now);
  }

  /**
   * A punch (asked or answered) means a path is missing, and the likeliest cause is that our own
   * NAT rebound: nobody tells us our new outside port, so ask STUN again rather than wait for
   * the periodic round (peers punch at once towards the new candidates it puts in our record).
   * `punches` is the running count of attempts; true when a request was queued (send it).
   */
  onPunches(punches: number, now: number): boolean {
    if (punches === this.#punchesSeen) return false;
    this.#punchesSeen = punches;
    if (now - this.#punchStunAt < PUNCH_STUN_GAP_MS) return false;
    this.#punchStunAt = now;
    this.client.refreshNow(now);
    this.client.tick(now);
    return true;
  }

  /**
   * After a new STUN round that learnt something: the reflexive endpoints to advertise and the
   * NAT type peers use to decide whether to punch; null when nothing new is known.
   */
  newMapping(): { endpoints: string[]; nat: NatTypeCode } | null {
    if (this.client.rounds === this.#roundsSeen) return null;
    this.#roundsSeen = this.client.rounds;
    const summary = this.summary();
    // A round that learnt nothing (every server silent) keeps what we advertise.
    if (summary.mapping === "unknown") return null;
    const nat = summary.mapping === "public"
      ? NatType.Public
      : summary.mapping === "endpoint-independent"
      ? NatType.Cone
      : summary.mapping === "varies-by-destination"
      ? NatType.Symmetric
      : NatType.Unknown;
    // A node whose mapping varies by destination gains nothing by advertising one of them.
    return { endpoints: nat === NatType.Symmetric ? [] : this.client.mappedEndpoints(), nat };
  }

  /** The NAT as `status` shows it. */
  summary(): NatStatus {
    const nat = classifyNatMapping(this.client.results(), this.#local);
    return { mapped_v4: nat.v4.mapped, mapped_v6: nat.v6.mapped, mapping: nat.mapping };
  }

  /** The full report `netcheck` prints, for the mesh port `port`. */
  report(port: number): NetcheckReport {
    const results = this.client.results();
    const nat = classifyNatMapping(results, this.#local);
    return {
      port,
      stun: this.setting.kind,
      servers: results.map((result) => ({
        server: result.server,
        mapped: result.mapped,
        rtt_ms: result.rttMs === null ? null : Math.round(result.rttMs * 10) / 10,
        error: result.error,
      })),
      mapped_v4: nat.v4.mapped,
      mapped_v6: nat.v6.mapped,
      mapping: nat.mapping,
      mapping_v4: nat.v4.mapping,
      mapping_v6: nat.v6.mapping,
      direct: this.setting.kind === "off"
        ? "STUN is off (--stun none): the mapping is not known."
        : describeMapping(nat.mapping),
    };
  }
}
