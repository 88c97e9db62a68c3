/**
 * Which WireGuard peers the mesh wants, from trust and membership: every trusted member that is
 * alive or suspected is a peer whose key is computed from its Ed25519 key, whose allowed IPs
 * are its mesh /32 and /128, and whose endpoint is the last address that answered a SWIM ping.
 * Pure bookkeeping: it turns changes into typed peer changes and log lines; the node applies
 * them to the device.
 */

import { decodeHex, encodeBase64, encodeHex } from "../encoding/base64.ts";
import { meshIpv4, meshIpv4Bytes, meshIpv6, meshIpv6Bytes } from "../identity/mesh_address.ts";
import type { PeerChange, PeerUpsert } from "../wireguard/device_config.ts";
import { parseEndpoint } from "../wireguard/endpoint.ts";
import { wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import type { MemberInfo, MemberState } from "../swim/events.ts";
import type { Ipv4Conflict } from "../control/control_protocol.ts";
import { Ipv4Claims, type Ipv4Decision } from "./ipv4_claims.ts";
import { describeConflict } from "../control/ipv4_conflict_text.ts";
import { DEFAULT_MAX_MEMBERS, MemberCap } from "./member_cap.ts";
import { memberName, MemberNames } from "./member_names.ts";
import type { OrgTrust } from "../org/org_trust.ts";
import { certificateName } from "../org/org_trust.ts";

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
  /** The WireGuard endpoint wanted: `verified`, else `relayEndpoint`, else null. */
  endpoint: string | null;
  /** Where membership last proved it receives (a ping there was acked); null until then. */
  verified: string | null;
  /** Its virtual endpoint through a relay (lib/relay/), or null. */
  relayEndpoint: string | null;
  /** The peer is configured on the device. */
  configured: boolean;
  /** The endpoint last written to the device. */
  configuredEndpoint: string | null;
  /** Whether its mesh IPv4 was routed to it on the device (false: another key holds it). */
  configuredIpv4: boolean | null;
  /** Admitted only by --open: it counts against the member cap. */
  capped?: boolean;
}

/** The outcome of a change: device changes to apply in order, and log lines. */
export interface PeerChanges {
  peers: PeerChange[];
  logs: { level: "info" | "warn" | "debug"; message: string }[];
}

/** Options of a peer table. */
export interface MeshPeersOptions {
  /** With --open: the most members admitted without trust (default DEFAULT_MAX_MEMBERS). */
  maxMembers?: number;
  /** This node's own mesh name (`<host>.mesh`), or null for none. */
  selfName?: string | null;
  /** Org trust (certificates, vouches, revocations); none: keys and --open only. */
  org?: OrgTrust;
}

/** The mesh's peer table. */
export class MeshPeers {
  readonly #selfIpv4: string;
  readonly #open: boolean;
  readonly #peers = new Map<string, MeshPeer>();
  #trusted = new Map<string, TrustedEntry>();
  /** The first trust set was loaded (later changes are logged; the start-up load is not). */
  #trustLoaded = false;
  readonly #claims: Ipv4Claims;
  /** Arrival order for the claims: one step per trust load and per new member. */
  #seq = 0;
  /** Settled addresses with at least one candidate → the outcome (see `#settle`). */
  readonly #decisions = new Map<string, Ipv4Decision>();
  /** Contested addresses → the warning last logged for each. */
  readonly #contested = new Map<string, string>();
  /** Peers admitted only because of --open count against this cap. */
  readonly #cap: MemberCap;
  #overflow = false;
  /** Who answers to which mesh name (claims follow trust and membership like the IPv4 ones). */
  readonly names: MemberNames;
  /** Grows whenever an address was settled again (for caches built from the decisions). */
  #settled = 0;
  readonly #org: OrgTrust | null;

  /** A table for the node with Ed25519 key `self`; `open` admits every member (up to a cap). */
  constructor(self: Uint8Array, open: boolean, options: MeshPeersOptions = {}) {
    this.#selfIpv4 = meshIpv4(self);
    this.#open = open;
    this.#cap = new MemberCap(options.maxMembers ?? DEFAULT_MAX_MEMBERS);
    this.#claims = new Ipv4Claims(this.#selfIpv4, { releaseAbsent: !open });
    this.names = new MemberNames(self, options.selfName ?? null);
    this.#org = options.org ?? null;
  }

  /** Changes whenever names or IPv4 holders may have changed (the resolver's cache key). */
  get namesVersion(): string {
    return `${this.names.version}/${this.#settled}`;
  }

  /** The key id (hex) holding mesh IPv4 `address` here, or null (nobody, or this node). */
  ipv4Holder(address: string): string | null {
    return this.#decisions.get(address)?.holder ?? null;
  }

  /** True when an org admits `publicKey` (certificate or vouch), whatever the key trust. */
  #orgAdmits(publicKey: Uint8Array): boolean {
    return this.#org !== null && this.#org.isAdmitted(publicKey);
  }

  /**
   * True when `publicKey` may take part (the trust policy handed to membership): trusted keys,
   * and under --open any key while fewer than `maxMembers` untrusted members are admitted.
   */
  isTrusted(publicKey: Uint8Array): boolean {
    const id = encodeHex(publicKey);
    if (this.#trusted.has(id)) return true;
    if (this.#orgAdmits(publicKey)) return true;
    // An org's revocation holds even under --open (authorized_keys/ is the admin's own word).
    if (this.#open && this.#org?.isRevokedByAny(publicKey)) return false;
    if (!this.#open || this.#peers.has(id)) return this.#open;
    if (this.#cap.hasRoom) return true;
    this.#cap.refuse(id);
    return false;
  }

  /** Newcomers refused at the --max-members cap since start. */
  get refusedMembers(): number {
    return this.#cap.refused;
  }

  /** The --max-members cap, or null without --open. */
  get maxMembers(): number | null {
    return this.#open ? this.#cap.max : null;
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
   * Loads the recorded holders (address → hex key id) before the first trust set, so a restart
   * settles collisions as before it (the admin's pins arrive through `setPins`).
   */
  loadClaims(records: ReadonlyMap<string, string>): void {
    this.#claims.loadRecords(records);
  }

  /** Replaces the admin's pins (`trust --ipv4-owner` on a running node). */
  setPins(pins: ReadonlyMap<string, string>): PeerChanges {
    const changes: PeerChanges = { peers: [], logs: [] };
    for (const address of this.#claims.setPins(pins)) this.#settle(address, changes);
    return changes;
  }

  /** True when the recorded IPv4 (or name) holders changed since they were last taken. */
  get recordsChanged(): boolean {
    return this.#claims.recordsChanged || this.names.recordsChanged;
  }

  /** Saving the records failed: they count as changed again, so the next change retries. */
  recordsNotSaved(): void {
    this.#claims.recordsNotSaved();
  }

  /** The recorded holders when they changed since the last call (to save), else null. */
  takeChangedRecords(): ReadonlyMap<string, string> | null {
    return this.#claims.takeChangedRecords();
  }

  /** True once after a member was refused past the cap that membership had already listed. */
  takeOverflow(): boolean {
    const overflow = this.#overflow;
    this.#overflow = false;
    return overflow;
  }

  /** Log lines that arose outside a change (refusals at the cap). */
  drainNotices(): PeerChanges {
    const logs = [...this.#cap.drainNotices(), ...this.names.drainNotices()]
      .map((message) => ({ level: "warn" as const, message }));
    return { peers: [], logs };
  }

  /**
   * Replaces the trust set (start-up, `trust`, `revoke`). Peers no longer trusted are removed
   * from the device at once; the addresses of keys that came or went are settled again; names
   * follow the files.
   */
  setTrusted(entries: TrustedEntry[]): PeerChanges {
    const changes: PeerChanges = { peers: [], logs: [] };
    const next = new Map<string, TrustedEntry>();
    for (const entry of entries) next.set(encodeHex(entry.publicKey), entry);
    const previous = this.#trusted;
    this.#trusted = next;
    const touched = new Set<string>();
    // Keys trusted in one load arrive together: none of them displaces another (see Ipv4Claims).
    const seq = ++this.#seq;
    for (const [id, entry] of previous) {
      if (next.has(id)) continue;
      if (this.#trustLoaded) {
        changes.logs.push({ level: "info", message: `trust in ${entry.name} revoked` });
      }
      const address = meshIpv4(entry.publicKey);
      if (!((this.#open || this.#orgAdmits(entry.publicKey)) && this.#peers.has(id))) {
        this.#claims.remove(id, address);
        this.names.release(entry.publicKey, true);
      } else {
        this.names.claim(entry.publicKey, this.#untrustedName(entry.publicKey), seq);
      }
      touched.add(address);
    }
    for (const entry of next.values()) {
      // A renamed key claims its new name as a newcomer; an unchanged claim keeps its arrival.
      this.names.claim(
        entry.publicKey,
        memberName(entry.publicKey, { trustName: entry.name }),
        seq,
      );
    }
    for (const [id, entry] of next) {
      if (previous.has(id)) continue;
      if (this.#trustLoaded) {
        changes.logs.push({ level: "info", message: `now trusting ${entry.name}` });
      }
      const address = meshIpv4(entry.publicKey);
      this.#claims.add(id, address, seq);
      touched.add(address);
    }
    this.#trustLoaded = true;
    this.#cap.count = 0;
    for (const peer of [...this.#peers.values()]) {
      const entry = next.get(peer.id);
      if (entry) peer.name = entry.name;
      // No longer trusted by key but still by an org: it goes by its certificate's name again.
      else if (previous.has(peer.id)) peer.name = this.#orgName(peer.id, peer.publicKey);
      if (!this.isTrusted(peer.publicKey)) {
        this.#remove(peer, changes);
        this.#peers.delete(peer.id);
      } else if (!entry && !this.#orgAdmits(peer.publicKey)) this.#cap.count++;
    }
    for (const address of touched) this.#settle(address, changes);
    for (const peer of this.#peers.values()) this.#sync(peer, changes);
    // Closed: trust is the member list, so a recorded name holder no longer trusted is gone.
    if (!this.#open) {
      const kept = new Set(next.keys());
      for (const peer of this.#peers.values()) kept.add(peer.id);
      this.names.retain(kept);
    }
    this.names.settle();
    return changes;
  }

  /** Applies one membership snapshot (from any SWIM event about a member). */
  onMember(member: MemberInfo, removed = false): PeerChanges {
    const changes: PeerChanges = { peers: [], logs: [] };
    const id = encodeHex(member.publicKey);
    const trusted = this.#trusted.has(id);
    let peer = this.#peers.get(id);
    if (removed) {
      if (peer) this.#drop(peer, changes);
      return changes;
    }
    const byOrg = !trusted && this.#orgAdmits(member.publicKey);
    if (!trusted && !byOrg && !this.#open) return changes;
    if (!peer) {
      if (!trusted && !byOrg && !this.#cap.hasRoom) {
        // Membership listed it before the cap caught up (several joined in one batch).
        this.#cap.refuse(id);
        this.#overflow = true;
        return changes;
      }
      peer = this.#create(id, member.publicKey);
      this.#peers.set(id, peer);
      if (!trusted) {
        if (!byOrg) {
          this.#cap.count++;
          peer.capped = true;
        }
        this.#claims.add(id, peer.meshIpv4, ++this.#seq);
        this.names.claim(peer.publicKey, this.#untrustedName(peer.publicKey), this.#seq);
        this.names.settle();
        this.#settle(peer.meshIpv4, changes);
      }
    }
    const was = peer.state;
    peer.state = member.state;
    // Only an address that answered a SWIM ping: an advertised or spoofed one could be anyone's;
    // without one, the relay's virtual endpoint (a relay forwards only to proven addresses).
    peer.verified = member.verified;
    peer.endpoint = member.verified ?? peer.relayEndpoint;
    if (was !== peer.state) {
      changes.logs.push({
        level: "info",
        message: `peer ${peer.name} (${peer.meshIpv4}) ${describeState(was, peer.state)}`,
      });
    }
    this.#sync(peer, changes);
    return changes;
  }

  /**
   * Removes a peer from the device and the table (and its IPv4 and name claims unless
   * key-trusted); `forgetName`: it is no longer admitted, so its recorded name is freed too.
   */
  #drop(peer: MeshPeer, changes: PeerChanges, forgetName = false): void {
    this.#remove(peer, changes);
    this.#peers.delete(peer.id);
    if (this.#trusted.has(peer.id)) return;
    if (peer.capped) this.#cap.count--;
    this.#claims.remove(peer.id, peer.meshIpv4);
    this.names.release(peer.publicKey, forgetName);
    this.names.settle();
    this.#settle(peer.meshIpv4, changes);
  }

  /**
   * After org trust changed (a revocation, an expiry, trusted_orgs/ reloaded): every peer no
   * longer admitted leaves the device at once; org members' names follow their certificates.
   */
  revalidate(): PeerChanges {
    const changes: PeerChanges = { peers: [], logs: [] };
    for (const peer of [...this.#peers.values()]) {
      if (this.isTrusted(peer.publicKey)) {
        if (!this.#trusted.has(peer.id)) peer.name = this.#orgName(peer.id, peer.publicKey);
        continue;
      }
      changes.logs.push({ level: "info", message: `peer ${peer.name} is no longer admitted` });
      // Revoked or expired: its name is free again (an away member would keep it).
      this.#drop(peer, changes, true);
    }
    // A member revoked while away held a recorded name too: free it as well.
    if (this.#org !== null) {
      const org = this.#org;
      this.names.forgetWhere((id) =>
        !this.#trusted.has(id) && !this.#peers.has(id) &&
        (this.#open ? org.isRevokedByAny(decodeHex(id)) : !org.isAdmitted(decodeHex(id)))
      );
      this.names.settle();
    }
    return changes;
  }

  /** A member presented a certificate that admits it: its name follows (a renewal may rename). */
  certificateAdmitted(publicKey: Uint8Array): void {
    const id = encodeHex(publicKey);
    const peer = this.#peers.get(id);
    if (peer === undefined || this.#trusted.has(id)) return;
    peer.name = this.#orgName(id, publicKey);
    // An unchanged name keeps its arrival; a renamed member is a newcomer to its new name.
    this.names.claim(publicKey, this.#untrustedName(publicKey), ++this.#seq);
    this.names.settle();
  }

  /** The mesh name a member not in authorized_keys/ claims: its certificate's, else peer-<hex>. */
  #untrustedName(publicKey: Uint8Array): string {
    const cert = this.#org?.certificateOf(publicKey);
    if (cert === undefined) return memberName(publicKey, { trustName: null });
    const { name, orgDomain } = certificateName(cert);
    return memberName(publicKey, { trustName: null, certificate: { name, orgDomain } });
  }

  #orgName(id: string, publicKey: Uint8Array): string {
    const cert = this.#org?.certificateOf(publicKey);
    return cert !== undefined ? certificateName(cert).fqdn : `peer-${id.slice(0, 8)}`;
  }

  /**
   * Sets the peer's relayed endpoint (null: none); used while no direct address is proven.
   * `repoint`: set the device's endpoint again even if unchanged here (WireGuard may have roamed
   * onto a relay binding that was just released).
   */
  setRelayEndpoint(publicKey: Uint8Array, endpoint: string | null, repoint = false): PeerChanges {
    const changes: PeerChanges = { peers: [], logs: [] };
    const peer = this.#peers.get(encodeHex(publicKey));
    if (peer === undefined) return changes;
    if (peer.relayEndpoint === endpoint) {
      if (repoint && peer.verified === null && endpoint !== null && peer.configured) {
        changes.peers.push({
          kind: "upsert",
          publicKey: peer.wireguardKey,
          endpoint: parseEndpoint(endpoint),
        });
      }
      return changes;
    }
    peer.relayEndpoint = endpoint;
    const wanted = peer.verified ?? endpoint;
    if (wanted !== null && wanted !== peer.endpoint) {
      peer.endpoint = wanted;
      this.#sync(peer, changes);
    }
    return changes;
  }

  /** Removes every configured peer from the device (shutdown). */
  removeAll(): PeerChanges {
    const changes: PeerChanges = { peers: [], logs: [] };
    for (const peer of this.#peers.values()) this.#remove(peer, changes);
    return changes;
  }

  /** Every contested mesh IPv4 and who holds it here, by address (for `status`). */
  ipv4Conflicts(): Ipv4Conflict[] {
    return [...this.#contested.keys()].sort().map((address) => this.#conflict(address));
  }

  #conflict(address: string): Ipv4Conflict {
    // Every contested address was settled (and so decided) when it became contested.
    const decision = this.#decisions.get(address)!;
    const keyOf = (id: string) => ({
      name: this.#nameOf(id),
      public_key: encodeBase64(decodeHex(id)),
    });
    return {
      mesh_ipv4: address,
      holder: decision.holder === null ? null : keyOf(decision.holder),
      reason: decision.reason,
      ipv6_only: this.#claims.contenders(address).filter((id) => id !== decision.holder).map(
        keyOf,
      ),
    };
  }

  #create(id: string, publicKey: Uint8Array): MeshPeer {
    return {
      id,
      name: this.#trusted.get(id)?.name ?? this.#orgName(id, publicKey),
      publicKey: publicKey.slice(),
      wireguardKey: wireguardPublicKeyOf(publicKey),
      meshIpv4: meshIpv4(publicKey),
      meshIpv6: meshIpv6(publicKey),
      state: null,
      endpoint: null,
      verified: null,
      relayEndpoint: null,
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
    const ownsIpv4 = this.#decisions.get(peer.meshIpv4)?.holder === peer.id;
    const upsert: PeerUpsert = { kind: "upsert", publicKey: peer.wireguardKey };
    /** Set after the endpoint (a second upsert): turns keepalive on again, see below. */
    let restart: PeerUpsert | null = null;
    if (!peer.configured) upsert.persistentKeepalive = MESH_PERSISTENT_KEEPALIVE;
    if (peer.endpoint !== null && peer.endpoint !== peer.configuredEndpoint) {
      // The endpoint applies before the keepalive: the keepalive it triggers goes there.
      upsert.endpoint = parseEndpoint(peer.endpoint);
      if (peer.configured && peer.configuredEndpoint === null) {
        // Its first endpoint (membership just verified it): turning persistent keepalive off and
        // on sends a keepalive at once, so we handshake now, not at the next 25 s tick (the
        // soak measured ~26 s from rejoin to handshake without this).
        upsert.persistentKeepalive = 0;
        restart = {
          kind: "upsert",
          publicKey: peer.wireguardKey,
          persistentKeepalive: MESH_PERSISTENT_KEEPALIVE,
        };
      }
    }
    if (!peer.configured || ownsIpv4 !== peer.configuredIpv4) {
      const routes = restart ?? upsert;
      routes.replaceAllowedIps = true;
      routes.allowedIps = [
        ...(ownsIpv4 ? [{ address: meshIpv4Bytes(peer.publicKey), cidr: 32 }] : []),
        { address: meshIpv6Bytes(peer.publicKey), cidr: 128 },
      ];
    }
    const changed = upsert.persistentKeepalive !== undefined || upsert.endpoint !== undefined ||
      upsert.allowedIps !== undefined;
    if (!changed) return;
    changes.peers.push(upsert);
    if (restart !== null) changes.peers.push(restart);
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
    changes.peers.push({ kind: "remove", publicKey: peer.wireguardKey });
    changes.logs.push({ level: "info", message: `tunnel to ${peer.name} removed` });
    peer.configured = false;
    peer.configuredEndpoint = null;
    peer.configuredIpv4 = null;
  }

  /**
   * Settles one address after its candidates, record or pin changed (O(keys at it), never a
   * pass over every peer) and re-plans the configured peers there whose IPv4 moved.
   */
  #settle(address: string, changes: PeerChanges): void {
    this.#settled++;
    const contenders = this.#claims.contenders(address);
    let decision: Ipv4Decision | null = null;
    if (contenders.length === 0 && address !== this.#selfIpv4) {
      this.#decisions.delete(address);
    } else {
      decision = this.#claims.decide(address);
      this.#decisions.set(address, decision);
    }
    // Contested: a key here is denied its derived address (by another key or this node).
    if (decision !== null && contenders.some((id) => id !== decision.holder)) {
      const message = describeConflict(this.#conflict(address));
      if (this.#contested.get(address) !== message) {
        this.#contested.set(address, message);
        changes.logs.push({ level: "warn", message });
      }
    } else {
      this.#contested.delete(address);
    }
    for (const id of contenders) {
      const peer = this.#peers.get(id);
      if (peer?.configured) this.#sync(peer, changes);
    }
  }

  #nameOf(id: string): string {
    return this.#trusted.get(id)?.name ?? this.#peers.get(id)?.name ?? `peer-${id.slice(0, 8)}`;
  }
}

function describeState(was: MemberState | null, now: MemberState): string {
  if (now === "alive") return was === null || was === "left" || was === "dead" ? "joined" : "alive";
  return now;
}
