/**
 * Which members this node relays for, and which relay it uses for each peer without a proven
 * direct path (issue 13), from membership snapshots; sans-IO. As a relay (`--relay`, advertised
 * as ALIVE_FLAG_RELAY in our signed record) its table holds every trusted live member with a
 * verified address. As a user, each trusted live peer whose address SWIM has not proven gets the
 * relay-capable live member with a proven path and the lowest RTT (relay_choice.ts), and is bound
 * at its next best relays too, so that whichever relay its side picks first, its frames are
 * accepted (else its first handshake is lost and WireGuard retries only 5 s later). A peer
 * whose address SWIM proves (a punch succeeded) loses its bindings at once: WireGuard's roaming
 * would otherwise move it back onto the relay with every datagram still in flight there. The
 * switch keeps the WireGuard session (an endpoint change only); what was in flight through the
 * relay at that moment is lost, as on any path change, and TCP resends it.
 */

import { encodeHex } from "../encoding/base64.ts";
import type { MemberInfo } from "../swim/events.ts";
import { ALIVE_FLAG_RELAY } from "../swim/records.ts";
import { parseEndpoint } from "../wireguard/endpoint.ts";
import { chooseRelay, type RelayCandidate } from "./relay_choice.ts";
import { MAX_RELAY_BINDINGS, RelayEndpoints, virtualRelayEndpoint } from "./relay_endpoints.ts";
import { type RelayLimits, type RelayMemberEntry, RelayTable } from "./relay_table.ts";

/** One peer's relayed path. */
export interface RelayRoute {
  /** Hex id of the relaying member. */
  relay: string;
  /** The virtual endpoint WireGuard sends to. */
  endpoint: string;
  slot: number;
}

/** A peer whose relayed endpoint changed (null: no relay any more), or must be set again. */
export interface RelayChange {
  publicKey: Uint8Array;
  endpoint: string | null;
  /**
   * The route is unchanged but one of the peer's other bindings was released: WireGuard may have
   * roamed onto it (the other side sent through that relay), and would keep sending into a slot
   * nobody forwards until its peer happened to send again, so the endpoint is set anew.
   */
  repoint?: boolean;
  /**
   * The route is unchanged but the peer's frames are now accepted through one more relay: what
   * its side sent there before was lost here, so a handshake is started anew (fresh_paths.ts).
   */
  accepting?: boolean;
}

interface Candidate extends RelayCandidate {
  ip: Uint8Array;
  port: number;
  /** Its verified address as text (part of a binding's key: a new address is a new binding). */
  address: string;
}

/** A binding: the virtual endpoint of one (peer, relay). */
interface Bound {
  slot: number;
  endpoint: string;
  peer: string;
  relay: string;
}

/** Relays each unproven peer is bound at (besides the one in use). */
const ACCEPT_RELAYS = 3;

/** The relay plan of one node. */
export class RelayPlanner {
  /** Bindings used by the socket edge. */
  readonly endpoints = new RelayEndpoints();
  /** The forwarding table, when this node relays. */
  readonly table: RelayTable | null;
  readonly #routes = new Map<string, RelayRoute>();
  /** Bindings by "peer relay address", and by virtual endpoint. */
  readonly #bound = new Map<string, Bound>();
  readonly #byEndpoint = new Map<string, Bound>();
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
      candidates.push({ id: encodeHex(m.publicKey), rtt: m.rtt, ip, port, address: m.verified });
    }
    candidates.sort((a, b) => (chooseRelay([a, b], null) === a ? -1 : 1));
    // Every unproven peer is bound at its best few relays, not only the one we send through: its
    // side may pick another, or pick before we do, and what it sends must not be dropped here.
    const wanted = new Map<string, { peer: MemberInfo; relay: Candidate }>();
    for (const m of live) {
      if (m.verified !== null) continue;
      const id = encodeHex(m.publicKey);
      const current = this.#routes.get(id)?.relay;
      let taken = 0;
      for (const relay of candidates) {
        if (relay.id === id) continue;
        if (taken++ >= ACCEPT_RELAYS && relay.id !== current) continue;
        wanted.set(`${id} ${relay.id} ${relay.address}`, { peer: m, relay });
      }
    }
    const { released, gained } = this.#bindExactly(wanted);
    const changes: RelayChange[] = [];
    const seen = new Set<string>();
    for (const m of live) {
      const id = encodeHex(m.publicKey);
      seen.add(id);
      const current = this.#routes.get(id);
      const others = candidates.filter((c) =>
        c.id !== id && this.#bound.has(`${id} ${c.id} ${c.address}`)
      );
      const choice = m.verified !== null ? null : chooseRelay(others, current?.relay ?? null);
      if (choice === null) {
        if (current === undefined) continue;
        this.#routes.delete(id);
        changes.push({ publicKey: m.publicKey, endpoint: null });
        continue;
      }
      const binding = this.#bound.get(`${id} ${choice.id} ${choice.address}`)!;
      if (current?.endpoint === binding.endpoint) {
        if (released.has(id)) {
          changes.push({ publicKey: m.publicKey, endpoint: binding.endpoint, repoint: true });
        } else if (gained.has(id)) {
          changes.push({ publicKey: m.publicKey, endpoint: binding.endpoint, accepting: true });
        }
        continue;
      }
      this.#routes.set(id, { relay: choice.id, endpoint: binding.endpoint, slot: binding.slot });
      changes.push({ publicKey: m.publicKey, endpoint: binding.endpoint });
    }
    for (const id of this.#routes.keys()) if (!seen.has(id)) this.#routes.delete(id);
    return changes;
  }

  /** The relay (hex id) behind virtual endpoint `endpoint` when it is one of `publicKey`'s. */
  relayOf(publicKey: Uint8Array, endpoint: string | null): string | null {
    const binding = endpoint === null ? undefined : this.#byEndpoint.get(endpoint);
    return binding !== undefined && binding.peer === encodeHex(publicKey) ? binding.relay : null;
  }

  /**
   * Binds what `wanted` names and releases every other binding; the peers (hex) that lost one,
   * and those that got one.
   */
  #bindExactly(
    wanted: Map<string, { peer: MemberInfo; relay: Candidate }>,
  ): { released: Set<string>; gained: Set<string> } {
    const released = new Set<string>();
    const gained = new Set<string>();
    for (const [key, binding] of this.#bound) {
      if (wanted.has(key)) continue;
      released.add(binding.peer);
      this.endpoints.release(binding.slot);
      this.#bound.delete(key);
      this.#byEndpoint.delete(binding.endpoint);
      this.version++;
    }
    for (const [key, { peer, relay }] of wanted) {
      if (this.#bound.has(key) || this.endpoints.size >= MAX_RELAY_BINDINGS) continue;
      const slot = this.endpoints.bind(relay.ip, relay.port, peer.publicKey);
      const binding = {
        slot,
        endpoint: virtualRelayEndpoint(slot),
        peer: encodeHex(peer.publicKey),
        relay: relay.id,
      };
      this.#bound.set(key, binding);
      this.#byEndpoint.set(binding.endpoint, binding);
      gained.add(binding.peer);
      this.version++;
    }
    return { released, gained };
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
