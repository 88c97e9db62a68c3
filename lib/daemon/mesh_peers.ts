/**
 * Which WireGuard peers the mesh wants, from trust and membership: every trusted member that is
 * alive or suspected is a peer whose key is computed from its Ed25519 key, whose allowed IPs
 * are its mesh /32 and /128, and whose endpoint is where membership last authenticated it.
 * Pure bookkeeping: it turns changes into `wg` UAPI `set` bodies and log lines; the daemon
 * sends them to the device.
 */

import { encodeBase64, encodeHex } from "../encoding/base64.ts";
import { meshIpv4, meshIpv6 } from "../identity/mesh_address.ts";
import { wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import type { MemberInfo, MemberState } from "../swim/events.ts";

/**
 * Persistent keepalive given to every mesh peer (seconds): it makes both sides handshake as
 * soon as they meet, keeps NAT mappings open, and lets a dead tunnel show in the counters.
 */
export const MESH_PERSISTENT_KEEPALIVE = 25;

/** One key the node trusts, with the name it is trusted under. */
export interface TrustedEntry {
  name: string;
  publicKey: Uint8Array;
}

/** What the mesh knows about one peer (trusted, and seen by membership or configured). */
export interface MeshPeer {
  /** Hex of the Ed25519 key (sorts like the bytes). */
  readonly id: string;
  name: string;
  readonly publicKey: Uint8Array;
  readonly wireguardKey: Uint8Array;
  readonly meshIpv4: string;
  readonly meshIpv6: string;
  /** Membership state, or null when membership has not reported it yet. */
  state: MemberState | null;
  /** Where membership last authenticated it. */
  endpoint: string | null;
  /** The peer is configured on the device. */
  configured: boolean;
  /** The endpoint last written to the device. */
  configuredEndpoint: string | null;
  /** Whether its mesh IPv4 was routed to it on the device (false: lost a collision). */
  configuredIpv4: boolean | null;
}

/** The outcome of a change: UAPI `set` body lines (without `set=1`) and log lines. */
export interface PeerChanges {
  uapi: string;
  logs: { level: "info" | "warn" | "debug"; message: string }[];
}

/** The mesh's peer table. */
export class MeshPeers {
  readonly #selfId: string;
  readonly #selfIpv4: string;
  readonly #open: boolean;
  readonly #peers = new Map<string, MeshPeer>();
  #trusted = new Map<string, TrustedEntry>();
  /** The first trust set was loaded (later changes are logged; the start-up load is not). */
  #trustLoaded = false;
  /** Mesh IPv4 → the id that keeps it (deterministic, see `ipv4Owner`). */
  #ipv4Owners = new Map<string, string>();

  /** A table for the node with Ed25519 key `self`; `open` admits every member. */
  constructor(self: Uint8Array, open: boolean) {
    this.#selfId = encodeHex(self);
    this.#selfIpv4 = meshIpv4(self);
    this.#open = open;
  }

  /** True when `publicKey` may take part (the trust policy handed to membership). */
  isTrusted(publicKey: Uint8Array): boolean {
    return this.#open || this.#trusted.has(encodeHex(publicKey));
  }

  /** Every known peer, sorted by name. */
  peers(): MeshPeer[] {
    return [...this.#peers.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One peer by Ed25519 key. */
  peer(publicKey: Uint8Array): MeshPeer | undefined {
    return this.#peers.get(encodeHex(publicKey));
  }

  /**
   * Replaces the trust set (start-up, `trust`, `revoke`). Peers no longer trusted are removed
   * from the device at once; IPv4 collisions are settled again; names follow the files.
   */
  setTrusted(entries: TrustedEntry[]): PeerChanges {
    const changes: PeerChanges = { uapi: "", logs: [] };
    const next = new Map<string, TrustedEntry>();
    for (const entry of entries) next.set(encodeHex(entry.publicKey), entry);
    for (const [id, entry] of this.#trusted) {
      if (!next.has(id)) {
        changes.logs.push({ level: "info", message: `trust in ${entry.name} revoked` });
      }
    }
    for (const [id, entry] of next) {
      if (!this.#trusted.has(id) && this.#trustLoaded) {
        changes.logs.push({ level: "info", message: `now trusting ${entry.name}` });
      }
    }
    this.#trusted = next;
    this.#trustLoaded = true;
    this.#settleCollisions(changes);
    for (const peer of [...this.#peers.values()]) {
      const entry = next.get(peer.id);
      if (entry) peer.name = entry.name;
      if (!this.isTrusted(peer.publicKey)) {
        this.#remove(peer, changes);
        this.#peers.delete(peer.id);
      } else {
        this.#sync(peer, changes);
      }
    }
    return changes;
  }

  /** Applies one membership snapshot (from any SWIM event about a member). */
  onMember(member: MemberInfo, removed = false): PeerChanges {
    const changes: PeerChanges = { uapi: "", logs: [] };
    if (!this.isTrusted(member.publicKey)) return changes;
    const id = encodeHex(member.publicKey);
    let peer = this.#peers.get(id);
    if (removed) {
      if (peer) {
        this.#remove(peer, changes);
        this.#peers.delete(id);
      }
      return changes;
    }
    if (!peer) {
      peer = this.#create(id, member.publicKey);
      this.#peers.set(id, peer);
      if (this.#open) this.#settleCollisions(changes);
    }
    const was = peer.state;
    peer.state = member.state;
    peer.endpoint = member.address ?? member.endpoints[0] ?? null;
    if (was !== peer.state) {
      changes.logs.push({
        level: "info",
        message: `peer ${peer.name} (${peer.meshIpv4}) ${describeState(was, peer.state)}`,
      });
    }
    this.#sync(peer, changes);
    return changes;
  }

  /** Removes every configured peer from the device (shutdown). */
  removeAll(): PeerChanges {
    const changes: PeerChanges = { uapi: "", logs: [] };
    for (const peer of this.#peers.values()) this.#remove(peer, changes);
    return changes;
  }

  #create(id: string, publicKey: Uint8Array): MeshPeer {
    return {
      id,
      name: this.#trusted.get(id)?.name ?? `peer-${id.slice(0, 8)}`,
      publicKey: publicKey.slice(),
      wireguardKey: wireguardPublicKeyOf(publicKey),
      meshIpv4: meshIpv4(publicKey),
      meshIpv6: meshIpv6(publicKey),
      state: null,
      endpoint: null,
      configured: false,
      configuredEndpoint: null,
      configuredIpv4: null,
    };
  }

  /** Brings the device's view of `peer` in line with what the mesh wants. */
  #sync(peer: MeshPeer, changes: PeerChanges): void {
    const wanted = peer.state === "alive" || peer.state === "suspect";
    if (!wanted) {
      this.#remove(peer, changes);
      return;
    }
    const ownsIpv4 = this.#ipv4Owners.get(peer.meshIpv4) === peer.id;
    const lines: string[] = [];
    if (!peer.configured) lines.push(`persistent_keepalive_interval=${MESH_PERSISTENT_KEEPALIVE}`);
    if (peer.endpoint !== null && peer.endpoint !== peer.configuredEndpoint) {
      lines.push(`endpoint=${peer.endpoint}`);
    }
    if (!peer.configured || ownsIpv4 !== peer.configuredIpv4) {
      lines.push("replace_allowed_ips=true");
      if (ownsIpv4) lines.push(`allowed_ip=${peer.meshIpv4}/32`);
      lines.push(`allowed_ip=${peer.meshIpv6}/128`);
    }
    if (lines.length === 0) return;
    // The endpoint goes first: the keepalive that persistent_keepalive sends needs it.
    lines.sort((a, b) => rank(a) - rank(b));
    changes.uapi += `public_key=${encodeHex(peer.wireguardKey)}\n${lines.join("\n")}\n`;
    if (!peer.configured) {
      changes.logs.push({
        level: "debug",
        message: `adding WireGuard peer ${peer.name} ${
          encodeBase64(peer.wireguardKey)
        } at ${peer.endpoint}`,
      });
    }
    peer.configured = true;
    if (peer.endpoint !== null) peer.configuredEndpoint = peer.endpoint;
    peer.configuredIpv4 = ownsIpv4;
  }

  #remove(peer: MeshPeer, changes: PeerChanges): void {
    if (!peer.configured) return;
    changes.uapi += `public_key=${encodeHex(peer.wireguardKey)}\nremove=true\n`;
    changes.logs.push({ level: "info", message: `tunnel to ${peer.name} removed` });
    peer.configured = false;
    peer.configuredEndpoint = null;
    peer.configuredIpv4 = null;
  }

  /**
   * Settles mesh IPv4 collisions the same way on every node: our own address stays ours; among
   * other keys the smallest (bytewise) keeps it. The others keep only their IPv6 address.
   */
  #settleCollisions(changes: PeerChanges): void {
    const candidates = new Set<string>(this.#trusted.keys());
    if (this.#open) { for (const id of this.#peers.keys()) candidates.add(id); }
    const owners = new Map<string, string>();
    const losers: string[] = [];
    for (const id of [...candidates].sort()) {
      const ipv4 = this.#ipv4Of(id);
      if (ipv4 === null) continue;
      if (ipv4 === this.#selfIpv4 || owners.has(ipv4)) {
        losers.push(id);
        continue;
      }
      owners.set(ipv4, id);
    }
    for (const id of losers) {
      const ipv4 = this.#ipv4Of(id)!;
      const winner = ipv4 === this.#selfIpv4 ? "this node" : this.#nameOf(owners.get(ipv4)!);
      const message = `mesh IPv4 ${ipv4} of ${
        this.#nameOf(id)
      } collides with ${winner}; ${winner} keeps it, ${this.#nameOf(id)} is reachable over IPv6`;
      if (!this.#ipv4Owners.has(ipv4) || this.#ipv4Owners.get(ipv4) !== owners.get(ipv4)) {
        changes.logs.push({ level: "warn", message });
      }
    }
    this.#ipv4Owners = owners;
  }

  #ipv4Of(id: string): string | null {
    const known = this.#peers.get(id);
    if (known) return known.meshIpv4;
    const trusted = this.#trusted.get(id);
    return trusted ? meshIpv4(trusted.publicKey) : null;
  }

  #nameOf(id: string): string {
    return this.#trusted.get(id)?.name ?? this.#peers.get(id)?.name ?? `peer-${id.slice(0, 8)}`;
  }
}

function rank(line: string): number {
  if (line.startsWith("endpoint=")) return 0;
  if (line.startsWith("persistent_keepalive_interval=")) return 1;
  return 2;
}

function describeState(was: MemberState | null, now: MemberState): string {
  if (now === "alive") return was === null || was === "left" || was === "dead" ? "joined" : "alive";
  return now;
}
