/**
 * One mesh node without its I/O: SWIM membership, the peer table that follows trust and
 * membership, and the WireGuard device those peers are applied to. Datagrams and `now` go in;
 * datagrams go out through the device and typed peer changes are applied to it. The daemon
 * (`mesh_daemon.ts`) wraps it with files, sockets, timers and the control socket; tests run
 * many of them in one process against fake time (tests/mesh_sim/).
 */

import type { Identity } from "../identity/identity.ts";
import { deriveWireguardPrivateKey } from "../identity/wireguard_key.ts";
import type { Logger } from "../log/logger.ts";
import type { ForeignDatagram } from "../device/device_protocol.ts";
import type { SwimEngine } from "../swim/engine.ts";
import type { SwimEvent } from "../swim/events.ts";
import type { NatTypeCode } from "../swim/records.ts";
import { EndpointCandidates } from "./endpoint_candidates.ts";
import type { DaemonStatus, NetcheckReport } from "../control/control_protocol.ts";
import { MeshPeers, type TrustedEntry } from "./mesh_peers.ts";
import { MeshguardError } from "../errors.ts";
import { classifyDatagram, PORT_STUN } from "../net/port_demux.ts";
import { NodeStun, startNodeStun } from "./node_stun.ts";
import { createNodeSwim } from "./node_swim.ts";
import { NodeRelays } from "./node_relays.ts";
import { NodePeerChanges } from "./node_peer_changes.ts";
import { logMembershipEvent } from "./membership_events.ts";
import type { OrgControl } from "../org/org_messages.ts";
import type { CertificateName, OrgTrust } from "../org/org_trust.ts";
import { OrgMembership } from "./node_org_membership.ts";
import type { MeshDevice, MeshNodeOptions, MeshNodeStart, StatusContext } from "./node_options.ts";
import { devicePeersByKey, nodeStatus, TunnelWatch } from "./node_status.ts";

export type { MeshDevice, MeshNodeOptions, MeshNodeStart, StatusContext } from "./node_options.ts";

/** Thrown when a node cannot start. */
export class MeshNodeError extends MeshguardError {}

/** A mesh node's core. */
export class MeshNode {
  readonly #identity: Identity;
  readonly #log: Logger;
  readonly #options: MeshNodeOptions;
  /** The peer table (trust, claims, the member cap). */
  readonly peers: MeshPeers;
  /** The org side: certificates, decisions, expiry, names. */
  readonly #org: OrgMembership;
  #swim: SwimEngine | null = null;
  #stun: NodeStun | null = null;
  #device: MeshDevice | null = null;
  #tunnels = new TunnelWatch();
  #candidates = new EndpointCandidates([], []);
  /** Relays used and offered (null when the device has no relay edge). */
  #relays: NodeRelays | null = null;
  /** Peer changes towards the device, and the fresh paths' handshakes. */
  readonly #changes: NodePeerChanges;
  #stopped = false;

  /** A node for `identity`; trust and claims are loaded before `start`. */
  constructor(options: MeshNodeOptions) {
    this.#options = options;
    this.#identity = options.identity;
    this.#log = options.log;
    this.#org = new OrgMembership({
      log: options.log,
      publicKey: options.identity.publicKey,
      wallClock: options.wallClock ?? Date.now,
      swim: () => this.#stopped ? null : this.#swim,
      revalidate: (now) => this.#revalidateOrg(now),
      admitted: (key) => {
        this.peers.certificateAdmitted(key);
        options.onOrgChange?.();
      },
      heard: options.onOrgControl,
    });
    this.peers = new MeshPeers(options.identity.publicKey, options.open, {
      maxMembers: options.maxMembers,
      selfName: options.selfName,
      org: this.#org.trust,
    });
    this.#changes = new NodePeerChanges({
      log: options.log,
      options,
      peers: this.peers,
      device: () => this.#device,
      stopped: () => this.#stopped,
    });
  }

  /** Org trust: trusted orgs, their decisions, the certificates that admitted members. */
  get org(): OrgTrust {
    return this.#org.trust;
  }

  /** The running membership engine (null before `start`). */
  get swim(): SwimEngine | null {
    return this.#swim;
  }

  /** True once `start` took the device (`stop` then stops it). */
  get started(): boolean {
    return this.#device !== null;
  }

  /** The node's Ed25519 public key. */
  get publicKey(): Uint8Array {
    return this.#identity.publicKey;
  }

  /**
   * Gives the device this node's WireGuard key and starts membership; throws MeshNodeError
   * when the device refuses the key.
   */
  start(start: MeshNodeStart, now: number): void {
    const privateKey = deriveWireguardPrivateKey(this.#identity.seed);
    try {
      start.device.configure({ privateKey });
    } catch (error) {
      throw new MeshNodeError(
        `the WireGuard device refused this node's key: ${(error as Error).message}`,
      );
    } finally {
      privateKey.fill(0);
    }
    this.#device = start.device;
    this.#org.certificate = start.certificate ?? null;
    this.#ownCertificateName();
    this.#relays = NodeRelays.attach(start.device, start.relay === true, start.relayLimits);
    this.#candidates = new EndpointCandidates(start.announce ?? [], start.endpoints, start.nat);
    this.#swim = createNodeSwim(start, {
      identity: this.#identity,
      trust: { isTrusted: (key) => this.peers.isTrusted(key), ...this.#org.policy() },
      certificate: this.#org.certificate,
      candidates: this.#candidates,
      offersRelay: this.#relays?.offers === true,
    });
    this.#swim.start(now);
    this.#org.started(now);
    this.#stun = startNodeStun(start.stun ?? { kind: "members" }, start.endpoints, {
      random: start.stunRandom,
      onMappedEndpoints: this.#options.onMappedEndpoints,
    }, now);
    this.#pump(now);
  }

  /** The endpoint candidates our record carries now. */
  get advertisedEndpoints(): readonly string[] {
    return this.#candidates.advertised;
  }

  /**
   * Our mesh socket's reflexive addresses (from STUN) and, when known, our NAT type: they join
   * our record's candidates, re-signed only when something changed.
   */
  setReflexiveEndpoints(endpoints: string[], now: number, nat?: NatTypeCode): void {
    if (this.#candidates.setReflexive(endpoints, nat)) this.#resign(now);
  }

  /** Our interface endpoints changed (addresses came or went). */
  setLocalEndpoints(endpoints: string[], now: number): void {
    if (this.#candidates.setLocal(endpoints)) this.#resign(now);
  }

  /** A new incarnation of our record: peers punch towards what it names. */
  #resign(now: number): void {
    const swim = this.#swim;
    if (swim === null || this.#stopped) return;
    swim.updateLocal([...this.#candidates.advertised], this.#candidates.nat, now);
    this.#pump(now);
  }

  /** Membership's (or STUN's) next deadline (Infinity when none, or before start / after stop). */
  nextDeadline(): number {
    if (this.#swim === null || this.#stopped) return Infinity;
    return Math.min(
      this.#swim.nextDeadline(),
      this.#stun?.client.nextDeadline() ?? Infinity,
      this.#changes.nextDeadline(),
    );
  }

  /** Our reflexive endpoints (numeric `ip:port`) from the latest STUN answers. */
  mappedEndpoints(): string[] {
    return this.#stun?.client.mappedEndpoints() ?? [];
  }

  /**
   * Asks the STUN servers again soon: the local addresses changed (then pass the mesh port's
   * new local endpoints), or `netcheck` wants a fresh answer. No-op with `--stun none`.
   */
  refreshStun(now: number, localEndpoints?: string[]): void {
    if (this.#stun === null || this.#swim === null || this.#stopped) return;
    if (localEndpoints !== undefined) this.#stun.setLocalEndpoints(localEndpoints);
    this.#followMembers(now);
    this.#stun.client.refreshNow(now);
    this.#stun.client.tick(now);
    this.#pump(now);
  }

  /** The STUN servers asked (numeric `ip:port`; members in the default mode). */
  get stunServers(): readonly string[] {
    return this.#stun?.client.servers ?? [];
  }

  /** Rounds of STUN completed since start (a `netcheck` waits for the next one). */
  get stunRounds(): number {
    return this.#stun?.client.rounds ?? 0;
  }

  /** What `meshguard netcheck` shows, for mesh port `port`. */
  netcheck(port: number): NetcheckReport {
    if (this.#stun !== null) return this.#stun.report(port);
    return new NodeStun({ kind: "off" }, []).report(port);
  }

  #followMembers(now: number): void {
    if (this.#stun === null || this.#stun.setting.kind !== "members") return;
    this.#stun.followMembers(
      this.#swim!.members("alive"),
      (key) => this.peers.isTrusted(key),
      now,
    );
  }

  /** Datagrams that arrived on the mesh port and are not WireGuard's. */
  receive(datagrams: ForeignDatagram[], now: number): void {
    // Before membership starts (the port is bound first) datagrams are dropped: senders retry.
    const swim = this.#swim;
    if (swim === null || this.#stopped) return;
    for (const datagram of datagrams) {
      if (classifyDatagram(datagram.data) === PORT_STUN) {
        // Only Binding responses get here (the workers answer requests themselves).
        this.#stun?.client.receive(datagram.address, datagram.data, now);
        continue;
      }
      try {
        swim.receive(datagram.address, datagram.data, now);
      } catch (error) {
        // The engine rejects bad input by counting drops; anything thrown is our bug: log it and
        // keep serving the mesh rather than die on one datagram.
        this.#log.error(`membership failed on a datagram from ${datagram.address}: ${error}`);
      }
    }
    this.#pump(now);
  }

  /** Runs membership's due timers. */
  tick(now: number): void {
    if (this.#swim === null || this.#stopped) return;
    this.#swim.tick(now);
    // A certificate that expired while we run stops admitting now (wall clock: its expiry is).
    this.#org.tick(now);
    if (this.#stun !== null) {
      this.#followMembers(now);
      this.#stun.client.tick(now);
    }
    this.#changes.tick(now);
    this.#pump(now);
  }

  /** Loads the recorded IPv4 holders (before the first trust set). */
  loadClaims(records: ReadonlyMap<string, string>): void {
    this.peers.loadClaims(records);
  }

  /**
   * Replaces trust (`authorized_keys/`, minus our own key) and, when given, the admin's IPv4
   * pins; members no longer trusted are dropped from membership and the device at once.
   */
  setTrust(entries: TrustedEntry[], pins: ReadonlyMap<string, string> | null, now: number): void {
    if (pins !== null) this.#changes.apply(this.peers.setPins(pins));
    this.#changes.apply(this.peers.setTrusted(entries));
    if (this.#swim !== null && !this.#stopped) {
      this.#swim.revalidateTrust(now);
      this.#pump(now);
    }
  }

  /**
   * Replaces the trusted orgs (`trusted_orgs/`) and feeds decisions from `revoked/` and
   * `vouched/`; members no longer admitted are dropped from membership and the device at once.
   */
  setOrgTrust(orgKeys: Uint8Array[], controls: OrgControl[], now: number): void {
    this.#org.setOrgTrust(orgKeys, controls, now);
  }

  /**
   * Applies org decisions (from files, or heard by gossip when `heard`): each one a trusted
   * org signed and newer than what we hold is gossiped on; then admission is revalidated.
   * Returns how many were applied.
   */
  applyOrgControls(controls: OrgControl[], now: number, heard: boolean): number {
    return this.#org.apply(controls, now, heard);
  }

  /** Replaces the certificate our record carries (`node.cert` reloaded). */
  setCertificate(certificate: Uint8Array | null, now: number): void {
    if (this.#swim === null || this.#stopped) return;
    this.#org.certificate = certificate;
    this.#ownCertificateName();
    this.#swim.setCertificate(certificate, now);
    this.#pump(now);
  }

  /**
   * The name a certificate gives a member (`<name>.<org6>.mesh`; for our own key, our
   * `node.cert`), or null when it holds none: what names (DNS, status) are read through.
   */
  certificateNameOf(publicKey: Uint8Array): CertificateName | null {
    return this.#org.nameOf(publicKey);
  }

  /** Our resolver answers to our own certificate's name too (`node.cert` set or replaced). */
  #ownCertificateName(): void {
    this.peers.names.setSelfCertificateName(
      this.#org.nameOf(this.#identity.publicKey)?.fqdn ?? null,
    );
  }

  #revalidateOrg(now: number): void {
    this.#changes.apply(this.peers.revalidate());
    this.#options.onOrgChange?.();
    if (this.#swim !== null && !this.#stopped) {
      this.#swim.revalidateTrust(now);
      this.#pump(now);
    }
  }

  /** Sends what membership produced, applies its events, reports the next deadline. */
  #pump(now: number): void {
    const swim = this.#swim!;
    this.#org.drainHeard(swim, now);
    this.#sendOutgoing();
    let events = 0;
    for (const event of swim.drainEvents()) {
      this.#onEvent(event);
      events++;
    }
    if (this.peers.takeOverflow()) {
      // Members listed past --max-members in one batch: membership forgets them again.
      swim.revalidateTrust(now);
      for (const event of swim.drainEvents()) {
        this.#onEvent(event);
        events++;
      }
    }
    this.#changes.apply(this.peers.drainNotices());
    this.#planRelays(now, events > 0);
    this.#changes.arm(now);
    this.#refreshStunOnPunch(now);
    this.#followReflexive(now);
    this.#options.onSchedule?.(this.nextDeadline());
  }

  /** A punch started: STUN is asked again (see `NodeStun.onPunches`); its request goes out. */
  #refreshStunOnPunch(now: number): void {
    if (this.#stun === null) return;
    const stats = this.#swim!.punchStats;
    if (!this.#stun.onPunches(stats.requested + stats.answered, now)) return;
    this.#log.debug("a punch started: asking STUN again (our NAT may have rebound)");
    this.#sendOutgoing();
  }

  /** What STUN learnt of the mesh port joins our record's candidates (`NodeStun.newMapping`). */
  #followReflexive(now: number): void {
    const mapping = this.#stun?.newMapping() ?? null;
    if (mapping !== null) this.setReflexiveEndpoints(mapping.endpoints, now, mapping.nat);
  }

  /** Peers without a proven path go through the best relay (node_relays.ts). */
  #planRelays(now: number, events: boolean): void {
    if (this.#relays === null) return;
    const members = () => this.#swim!.members();
    const trusted = (key: Uint8Array) => this.peers.isTrusted(key);
    this.#changes.applyRelayPlan(this.#relays.plan(members, trusted, now, events));
  }

  #sendOutgoing(): void {
    const outgoing = [
      ...this.#swim!.drainOutgoing(),
      ...(this.#stun?.client.drainOutgoing() ?? []),
    ];
    if (outgoing.length === 0) return;
    this.#device?.sendDatagrams(outgoing.map((out) => ({ address: out.to, data: out.data })));
  }

  /** A membership event: logged, and the member it changes goes to the peer table. */
  #onEvent(event: SwimEvent): void {
    const member = logMembershipEvent(event, this.#log);
    if (member !== null) this.#changes.apply(this.peers.onMember(member, event.type === "removed"));
  }

  /** Applies what the peer filter changed (the admitted set moved); see `peerFilter`. */
  refilter(): void {
    this.#changes.refilter();
  }

  /** Logs tunnels that came up or went down since the last call (from handshake times). */
  pollTunnels(): void {
    if (this.#device === null || this.#stopped) return;
    const now = (this.#options.wallClock ?? Date.now)();
    const snapshot = devicePeersByKey(this.#device);
    this.#tunnels.poll(this.peers.peers(), snapshot, now, this.#log);
  }

  /** What `meshguard status` shows. */
  status(context: StatusContext): DaemonStatus {
    return nodeStatus({
      context,
      publicKey: this.#identity.publicKey,
      peers: this.peers,
      swim: this.#swim,
      devicePeers: devicePeersByKey(this.#device),
      relays: this.#relays,
      stun: this.#stun,
      open: this.#options.open,
      trustedOrgs: this.#org.trust.orgCount,
    });
  }

  /** Announces our leave (keep ticking until `pendingBroadcasts` is 0 or a grace time ends). */
  leave(now: number): void {
    if (this.#swim === null) return;
    this.#swim.leave(now);
    this.#sendOutgoing();
    this.#swim.drainEvents();
  }

  /** Leave broadcasts not yet sent often enough. */
  get pendingBroadcasts(): number {
    return this.#swim?.pendingBroadcasts ?? 0;
  }

  /** One step of a graceful leave: runs timers, sends, drops events (the node is going). */
  leaveStep(now: number): void {
    const swim = this.#swim;
    if (swim === null) return;
    swim.tick(now);
    this.#sendOutgoing();
    swim.drainEvents();
  }

  /** Stops membership and the device it started with (no leave: a crash, or after `leave`). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#device?.stop();
  }
}
