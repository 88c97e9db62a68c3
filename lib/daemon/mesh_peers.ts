/**
 * Which WireGuard peers the mesh wants, from trust and membership: every trusted member that is
 * alive or suspected is a peer whose key is computed from its Ed25519 key, whose allowed IPs
 * are its mesh /32 and /128, and whose endpoint is the last address that answered a SWIM ping.
 * Pure bookkeeping: it turns changes into typed peer changes and log lines; the node applies
 * them to the device.
 */

import { decodeHex, encodeHex } from "../encoding/base64.ts";
import { meshIpv4, meshIpv6 } from "../identity/mesh_address.ts";
import { parseEndpoint } from "../wireguard/endpoint.ts";
import { wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import type { MemberInfo, MemberState } from "../swim/events.ts";
import type { Ipv4Conflict } from "../control/control_protocol.ts";
import { Ipv4Settlement } from "./ipv4_settlement.ts";
import { removePeer, syncPeer } from "./peer_device_plan.ts";
import { DEFAULT_MAX_MEMBERS, MemberCap } from "./member_cap.ts";
import { memberName, MemberNames } from "./member_names.ts";
import type { OrgTrust } from "../org/org_trust.ts";
import { certificateName } from "../org/org_trust.ts";
import type { MeshPeer, MeshPeersOptions, PeerChanges, TrustedEntry } from "./peer_table_types.ts";

export { MESH_PERSISTENT_KEEPALIVE } from "./peer_device_plan.ts";

export type { MeshPeer, MeshPeersOptions, PeerChanges, TrustedEntry } from "./peer_table_types.ts";

/** The mesh's peer table. */
export class MeshPeers {
  readonly #selfIpv4: string;
  readonly #open: boolean;
  readonly #peers = new Map<string, MeshPeer>();
  #trusted = new Map<string, TrustedEntry>();
  /** The first trust set was loaded (later changes are logged; the start-up load is not). */
  #trustLoaded = false;
  /** Who holds each mesh IPv4 here (claims, decisions, conflicts). */
  readonly #ipv4: Ipv4Settlement;
  /** Arrival order for the claims: one step per trust load and per new member. */
  #seq = 0;
  /** Peers admitted only because of --open count against this cap. */
  readonly #cap: MemberCap;
  #overflow = false;
  /** Who answers to which mesh name (claims follow trust and membership like the IPv4 ones). */
  readonly names: MemberNames;
  readonly #org: OrgTrust | null;

  /** A table for the node with Ed25519 key `self`; `open` admits every member (up to a cap). */
  constructor(self: Uint8Array, open: boolean, options: MeshPeersOptions = {}) {
    this.#selfIpv4 = meshIpv4(self);
    this.#open = open;
    this.#cap = new MemberCap(options.maxMembers ?? DEFAULT_MAX_MEMBERS);
    this.#ipv4 = new Ipv4Settlement(this.#selfIpv4, !open);
    this.names = new MemberNames(self, options.selfName ?? null);
    this.#org = options.org ?? null;
  }

  /** Changes whenever names or IPv4 holders may have changed (the resolver's cache key). */
  get namesVersion(): string {
    return `${this.names.version}/${this.#ipv4.version}`;
  }

  /** The key id (hex) holding mesh IPv4 `address` here, or null (nobody, or this node). */
  ipv4Holder(address: string): string | null {
    return this.#ipv4.holder(address);
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
    this.#ipv4.claims.loadRecords(records);
  }

  /** Replaces the admin's pins (`trust --ipv4-owner` on a running node). */
  setPins(pins: ReadonlyMap<string, string>): PeerChanges {
    const changes: PeerChanges = { peers: [], logs: [] };
    for (const address of this.#ipv4.claims.setPins(pins)) this.#settle(address, changes);
    return changes;
  }

  /** True when the recorded IPv4 (or name) holders changed since they were last taken. */
  get recordsChanged(): boolean {
    return this.#ipv4.claims.recordsChanged || this.names.recordsChanged;
  }

  /** Saving the records failed: they count as changed again, so the next change retries. */
  recordsNotSaved(): void {
    this.#ipv4.claims.recordsNotSaved();
  }

  /** The recorded holders when they changed since the last call (to save), else null. */
  takeChangedRecords(): ReadonlyMap<string, string> | null {
    return this.#ipv4.claims.takeChangedRecords();
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
        this.#ipv4.claims.remove(id, address);
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
      this.#ipv4.claims.add(id, address, seq);
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
        this.#ipv4.claims.add(id, peer.meshIpv4, ++this.#seq);
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
    this.#ipv4.claims.remove(peer.id, peer.meshIpv4);
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
    return this.#ipv4.conflicts((id) => this.#nameOf(id));
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
    syncPeer(peer, this.#ipv4.holder(peer.meshIpv4) === peer.id, changes);
  }

  #remove(peer: MeshPeer, changes: PeerChanges): void {
    removePeer(peer, changes);
  }

  /**
   * Settles one address after its candidates, record or pin changed (O(keys at it), never a
   * pass over every peer) and re-plans the configured peers there whose IPv4 moved.
   */
  #settle(address: string, changes: PeerChanges): void {
    const { contenders, warning } = this.#ipv4.settle(address, (id) => this.#nameOf(id));
    if (warning !== null) changes.logs.push({ level: "warn", message: warning });
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
