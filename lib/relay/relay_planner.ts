/**
 * Which members this node relays for, and which relay it uses for each peer without a proven
 * direct path (issue 13), from membership snapshots; sans-IO. As a relay (`--relay`, advertised
 * as ALIVE_FLAG_RELAY in our signed record) its table holds every trusted live member with a
 * verified address. As a user, each trusted live peer whose address SWIM has not proven gets the
 * relay-capable live member with a proven path and the lowest RTT (relay_choice.ts). A peer
 * whose address SWIM proves (a punch succeeded) loses its binding at once: WireGuard's roaming
 * would otherwise move it back onto the relay with every datagram still in flight there. The
 * switch keeps the WireGuard session (an endpoint change only); what was in flight through the
 * relay at that moment is lost, as on any path change, and TCP resends it.
 */

import { encodeHex } from "../encoding/base64.ts";
import type { MemberInfo } from "../swim/events.ts";
import { ALIVE_FLAG_RELAY } from "../swim/records.ts";
import { parseEndpoint } from "../wireguard/endpoint.ts";
import { chooseRelay, type RelayCandidate } from "./relay_choice.ts";
import { RelayEndpoints, virtualRelayEndpoint } from "./relay_endpoints.ts";
import { type RelayLimits, type RelayMemberEntry, RelayTable } from "./relay_table.ts";

/** One peer's relayed path. */
export interface RelayRoute {
  /** Hex id of the relaying member. */
  relay: string;
  /** The virtual endpoint WireGuard sends to. */
  endpoint: string;
  slot: number;
}

/** A peer whose relayed endpoint changed (null: no relay any more). */
export interface RelayChange {
  publicKey: Uint8Array;
  endpoint: string | null;
}

interface Candidate extends RelayCandidate {
  ip: Uint8Array;
  port: number;
}

/** The relay plan of one node. */
export class RelayPlanner {
  /** Bindings used by the socket edge. */
  readonly endpoints = new RelayEndpoints();
  /** The forwarding table, when this node relays. */
  readonly table: RelayTable | null;
  readonly #routes = new Map<string, RelayRoute>();
  #tableKey = "";
  /** Grows whenever a binding or the table changed (the device copies them to its workers). */
  version = 0;

  /** `relay`: this node relays for others (its limits, or the defaults). */
  constructor(relay: boolean, limits: Partial<RelayLimits> = {}) {
    this.table = relay ? new RelayTable(limits) : null;
  }

  /** The route to peer `publicKey`, if it has one. */
  route(publicKey: Uint8Array): RelayRoute | undefined {
    return this.#routes.get(encodeHex(publicKey));
  }

  /** Re-plans from `members` (membership's listed members); returns the peers whose route changed. */
  plan(members: readonly MemberInfo[], trusted: (key: Uint8Array) => boolean): RelayChange[] {
    const live = members.filter((m) =>
      (m.state === "alive" || m.state === "suspect") && trusted(m.publicKey)
    );
    if (this.table !== null) this.#fillTable(live);
    const candidates: Candidate[] = [];
    for (const m of live) {
      if ((m.flags & ALIVE_FLAG_RELAY) === 0 || m.state !== "alive" || m.verified === null) {
        continue;
      }
      const { ip, port } = mapped(m.verified);
      candidates.push({ id: encodeHex(m.publicKey), rtt: m.rtt, ip, port });
    }
    const changes: RelayChange[] = [];
    const seen = new Set<string>();
    for (const m of live) {
      const id = encodeHex(m.publicKey);
      seen.add(id);
      const current = this.#routes.get(id);
      const others = candidates.filter((c) => c.id !== id);
      const choice = m.verified !== null ? null : chooseRelay(others, current?.relay ?? null);
      if (choice === null) {
        if (current !== undefined) this.#drop(id, current, m.publicKey, changes);
        continue;
      }
      if (current?.relay === choice.id) continue;
      const slot = this.endpoints.bind(choice.ip, choice.port, m.publicKey);
      if (current !== undefined && current.slot !== slot) this.endpoints.release(current.slot);
      const route = { relay: choice.id, endpoint: virtualRelayEndpoint(slot), slot };
      this.#routes.set(id, route);
      this.version++;
      changes.push({ publicKey: m.publicKey, endpoint: route.endpoint });
    }
    for (const [id, route] of this.#routes) {
      if (!seen.has(id)) this.#drop(id, route, null, changes);
    }
    return changes;
  }

  #drop(id: string, route: RelayRoute, key: Uint8Array | null, changes: RelayChange[]): void {
    this.endpoints.release(route.slot);
    this.#routes.delete(id);
    this.version++;
    if (key !== null) changes.push({ publicKey: key, endpoint: null });
  }

  /** Rebuilds the relay table when the set of members or their verified addresses changed. */
  #fillTable(live: readonly MemberInfo[]): void {
    const entries: RelayMemberEntry[] = [];
    let key = "";
    for (const m of live) {
      if (m.verified === null) continue;
      const { ip, port } = mapped(m.verified);
      entries.push({ key: m.publicKey, ip, port });
      key += `${encodeHex(m.publicKey.subarray(0, 8))}@${m.verified} `;
    }
    if (key === this.#tableKey) return;
    this.#tableKey = key;
    this.version++;
    this.table!.setMembers(entries);
  }
}

/** An `ip:port` as a 16-byte (IPv4-mapped) address and a port. */
function mapped(text: string): { ip: Uint8Array; port: number } {
  const { address, port } = parseEndpoint(text);
  if (address.length === 16) return { ip: address, port };
  const ip = new Uint8Array(16);
  ip[10] = 0xff;
  ip[11] = 0xff;
  ip.set(address, 12);
  return { ip, port };
}
