/**
 * One mesh node without its I/O: SWIM membership, the peer table that follows trust and
 * membership, and the WireGuard device those peers are applied to. Datagrams and `now` go in;
 * datagrams go out through the device and typed peer changes are applied to it. The daemon
 * (`mesh_daemon.ts`) wraps it with files, sockets, timers and the control socket; tests run
 * many of them in one process against fake time (tests/mesh_sim/).
 */

import { decodeHex, encodeBase64, encodeHex } from "../encoding/base64.ts";
import type { Identity } from "../identity/identity.ts";
import { meshIpv4, meshIpv6 } from "../identity/mesh_address.ts";
import { deriveWireguardPrivateKey, wireguardPublicKeyOf } from "../identity/wireguard_key.ts";
import type { Logger } from "../log/logger.ts";
import type { ForeignDatagram } from "../device/device_protocol.ts";
import { SwimEngine } from "../swim/engine.ts";
import type { SwimEvent } from "../swim/events.ts";
import type { SwimConfig, SwimProfileName } from "../swim/profiles.ts";
import { createSwimCrypto, type SwimCrypto } from "../swim/swim_crypto.ts";
import { NatType, type NatTypeCode } from "../swim/records.ts";
import { EndpointCandidates } from "./endpoint_candidates.ts";
import { REJECT_AFTER_TIME } from "../wireguard/constants.ts";
import {
  type DeviceConfig,
  DeviceConfigError,
  type DeviceConfigResult,
  type DevicePeer,
} from "../wireguard/device_config.ts";
import type {
  DaemonStatus,
  NatStatus,
  NetcheckReport,
  PeerStatus,
  RelayServingStatus,
} from "../control/control_protocol.ts";
import { VERSION } from "../version.ts";
import { MeshPeers, type PeerChanges, type TrustedEntry } from "./mesh_peers.ts";
import { describeNameConflict } from "./member_names.ts";
import { MeshguardError } from "../errors.ts";
import { classifyDatagram, PORT_STUN } from "../net/port_demux.ts";
import { NodeStun, type StunSetting } from "./node_stun.ts";
import type { RelayLimits } from "../relay/relay_table.ts";
import { NodeRelays, type RelayDevice } from "./node_relays.ts";
import type { PeerFilter } from "../controller/peer_gate.ts";
import { ALIVE_FLAG_RELAY } from "../swim/records.ts";
import type { OrgControl } from "../org/org_messages.ts";
import type { CertificateName, OrgTrust } from "../org/org_trust.ts";
import { OrgMembership } from "./node_org_membership.ts";

/** Punches ask STUN again at most this often (attempts back off from 2 s anyway). */
const PUNCH_STUN_GAP_MS = 5_000;

/** What a node needs from its WireGuard device (real, in-process, or none for gossip only). */
export interface MeshDevice extends RelayDevice {
  /** Applies typed changes in order; throws DeviceConfigError. */
  configure(config: DeviceConfig): DeviceConfigResult;
  /** Sends membership datagrams from the mesh port (best effort). */
  sendDatagrams(datagrams: ForeignDatagram[]): void;
  /** The configured peers: endpoints, handshakes, counters, allowed IPs. */
  devicePeers(): DevicePeer[];
  /** Stops the device and releases what it holds. */
  stop(): Promise<void>;
}

/** How a node is built. */
export interface MeshNodeOptions {
  identity: Identity;
  /** Admit every key (explicit `--open`). */
  open: boolean;
  /** With `open`: the most members admitted without trust (`--max-members`). */
  maxMembers?: number;
  /** This node's own mesh name (see `member_names.ts`), or null. */
  selfName?: string | null;
  log: Logger;
  /** Wall-clock ms (for "tunnel up" against handshake times); default Date.now. */
  wallClock?: () => number;
  /** Called after every step with membership's next deadline (Infinity: none). */
  onSchedule?: (deadline: number) => void;
  /** Called when the recorded IPv4 holders changed (the shell saves them). */
  onRecordsChanged?: () => void;
  /** Called with each org decision heard by gossip and applied (the shell persists it). */
  onOrgControl?: (message: OrgControl) => void;
  /**
   * Called when org membership may have moved (a certificate admitted a member, or admission
   * was revalidated); `MeshNode.org.version` says whether it did (service policies follow it).
   */
  onOrgChange?: () => void;
  /**
   * Called when the node's reflexive endpoints (what STUN servers saw of the mesh port) changed;
   * `MeshNode.mappedEndpoints` reads them at any time.
   */
  onMappedEndpoints?: (endpoints: string[]) => void;
  /** Admission control (`up --controller`): peer changes pass through it to the device. */
  peerFilter?: PeerFilter;
}

/** How membership starts (`MeshNode.start`). */
export interface MeshNodeStart {
  device: MeshDevice;
  /** Boot epoch: grows on every restart. */
  epoch: number;
  /** Interface endpoints we advertise (numeric `ip:port`). */
  endpoints: string[];
  /** `--announce` endpoints (numeric `ip:port`), advertised first. */
  announce?: string[];
  /** Our NAT type, if known (NatType; default unknown). */
  nat?: NatTypeCode;
  /** Seeds to join through (numeric `ip:port`, our own excluded). */
  seeds: string[];
  /** Membership's crypto (default: real, from the identity). */
  crypto?: SwimCrypto;
  profile?: SwimProfileName;
  config?: Partial<SwimConfig>;
  /** Seeded PRNG for reproducible runs (default Math.random). */
  random?: () => number;
  /** Where STUN answers come from (default: members; see `node_stun.ts`). */
  stun?: StunSetting;
  /** Fills STUN transaction IDs (default: crypto.getRandomValues; tests seed it). */
  stunRandom?: (bytes: Uint8Array) => void;
  /** Relay WireGuard datagrams between trusted members (`--relay`), advertised in our record. */
  relay?: boolean;
  /** Our org certificate (`node.cert`), carried in our signed record. */
  certificate?: Uint8Array | null;
  /** The relay's limits (tests); default DEFAULT_RELAY_LIMITS. */
  relayLimits?: Partial<RelayLimits>;
}

/** Who the node is to `status`: what only the shell knows. */
export interface StatusContext {
  pid: number;
  /** The TUN interface ("" gossip only). */
  interface: string;
  port: number;
}

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
  /** STUN rounds already folded into our candidates. */
  #stunRoundsSeen = 0;
  /** Punch attempts (asked or answered) seen, and when one last made us ask STUN again. */
  #punchesSeen = 0;
  #punchStunAt = -Infinity;
  #device: MeshDevice | null = null;
  #tunnelsUp = new Set<string>();
  #candidates = new EndpointCandidates([], []);
  /** Relays used and offered (null when the device has no relay edge). */
  #relays: NodeRelays | null = null;
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
    this.#swim = new SwimEngine({
      crypto: start.crypto ?? createSwimCrypto(this.#identity.seed, this.#identity.publicKey),
      trust: {
        isTrusted: (key) => this.peers.isTrusted(key),
        ...this.#org.policy(),
      },
      certificate: this.#org.certificate,
      epoch: start.epoch,
      endpoints: [...this.#candidates.advertised],
      nat: this.#candidates.nat,
      seeds: start.seeds,
      profile: start.profile,
      config: start.config,
      random: start.random,
      recordFlags: this.#relays?.offers ? ALIVE_FLAG_RELAY : 0,
    });
    this.#swim.start(now);
    this.#org.started(now);
    const stun = start.stun ?? { kind: "members" };
    if (stun.kind !== "off") {
      this.#stun = new NodeStun(stun, start.endpoints, {
        random: start.stunRandom,
        onMappedEndpoints: this.#options.onMappedEndpoints,
      });
      this.#stun.start(now);
    }
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
    return Math.min(this.#swim.nextDeadline(), this.#stun?.client.nextDeadline() ?? Infinity);
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
    if (pins !== null) this.#apply(this.peers.setPins(pins));
    this.#apply(this.peers.setTrusted(entries));
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
    this.#apply(this.peers.revalidate());
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
    this.#apply(this.peers.drainNotices());
    this.#planRelays(now, events > 0);
    this.#refreshStunOnPunch(now);
    this.#followReflexive(now);
    this.#options.onSchedule?.(this.nextDeadline());
  }

  /**
   * A punch (asked or answered) means a path is missing, and the likeliest cause is that our own
   * NAT rebound: nobody tells us our new outside port, so ask STUN again rather than wait for
   * the periodic round (peers punch at once towards the new candidates it puts in our record).
   */
  #refreshStunOnPunch(now: number): void {
    if (this.#stun === null) return;
    const stats = this.#swim!.punchStats;
    const punches = stats.requested + stats.answered;
    if (punches === this.#punchesSeen) return;
    this.#punchesSeen = punches;
    if (now - this.#punchStunAt < PUNCH_STUN_GAP_MS) return;
    this.#punchStunAt = now;
    this.#log.debug("a punch started: asking STUN again (our NAT may have rebound)");
    this.#stun.client.refreshNow(now);
    this.#stun.client.tick(now);
    this.#sendOutgoing();
  }

  /**
   * What STUN learnt of the mesh port joins our record's candidates (with the NAT type peers
   * use to decide whether to punch); a no-op unless the mapping changed.
   */
  #followReflexive(now: number): void {
    if (this.#stun === null || this.#stun.client.rounds === this.#stunRoundsSeen) return;
    this.#stunRoundsSeen = this.#stun.client.rounds;
    const summary = this.#stun.summary();
    // A round that learnt nothing (every server silent) keeps what we advertise.
    if (summary.mapping === "unknown") return;
    const nat = summary.mapping === "public"
      ? NatType.Public
      : summary.mapping === "endpoint-independent"
      ? NatType.Cone
      : summary.mapping === "varies-by-destination"
      ? NatType.Symmetric
      : NatType.Unknown;
    // A node whose mapping varies by destination gains nothing by advertising one of them.
    const reflexive = nat === NatType.Symmetric ? [] : this.mappedEndpoints();
    this.setReflexiveEndpoints(reflexive, now, nat);
  }

  /** Peers without a proven path go through the best relay (node_relays.ts). */
  #planRelays(now: number, events: boolean): void {
    if (this.#relays === null) return;
    const members = () => this.#swim!.members();
    const trusted = (key: Uint8Array) => this.peers.isTrusted(key);
    for (const change of this.#relays.plan(members, trusted, now, events)) {
      this.#apply(
        this.peers.setRelayEndpoint(change.publicKey, change.endpoint, change.repoint === true),
      );
    }
  }

  #sendOutgoing(): void {
    const outgoing = [
      ...this.#swim!.drainOutgoing(),
      ...(this.#stun?.client.drainOutgoing() ?? []),
    ];
    if (outgoing.length === 0) return;
    this.#device?.sendDatagrams(outgoing.map((out) => ({ address: out.to, data: out.data })));
  }

  #onEvent(event: SwimEvent): void {
    if (this.#log.enabled("debug")) {
      const who = "member" in event ? ` ${encodeBase64(event.member.publicKey)}` : "";
      this.#log.debug(`membership event ${event.type}${who}`);
    }
    switch (event.type) {
      case "connected":
        this.#log.info("connected to the mesh");
        return;
      case "isolated":
        this.#log.warn("no live member left; retrying the seeds");
        return;
      case "incarnation-exhausted":
        this.#log.error(
          "membership incarnation exhausted: this node can no longer refute accusations; restart meshguard to take a new epoch",
        );
        return;
      case "removed":
        this.#apply(this.peers.onMember(event.member, true));
        return;
      default:
        this.#apply(this.peers.onMember(event.member));
    }
  }

  /** Applies what the peer filter changed (the admitted set moved); see `peerFilter`. */
  refilter(): void {
    const peers = this.#options.peerFilter?.reconcile() ?? [];
    this.#apply({ peers, logs: [] }, false);
  }

  /** Logs a change and applies its peer changes to the device, in order. */
  #apply(changes: PeerChanges, filter = true): void {
    for (const line of changes.logs) this.#log[line.level](line.message);
    if (this.peers.recordsChanged) this.#options.onRecordsChanged?.();
    const peers = filter && this.#options.peerFilter
      ? this.#options.peerFilter.filter(changes.peers)
      : changes.peers;
    if (peers.length === 0 || this.#device === null || this.#stopped) return;
    try {
      this.#device.configure({ peers });
    } catch (error) {
      if (!(error instanceof DeviceConfigError)) throw error;
      this.#log.error(`the WireGuard device refused a peer change: ${error.message}`);
    }
  }

  /** Logs tunnels that came up or went down since the last call (from handshake times). */
  pollTunnels(): void {
    if (this.#device === null || this.#stopped) return;
    const now = (this.#options.wallClock ?? Date.now)();
    const snapshot = this.#devicePeersByKey();
    for (const peer of this.peers.peers()) {
      const state = snapshot.get(encodeHex(peer.wireguardKey));
      const up = state !== undefined && state.lastHandshake !== null &&
        now - state.lastHandshake < REJECT_AFTER_TIME;
      if (up && !this.#tunnelsUp.has(peer.id)) {
        this.#tunnelsUp.add(peer.id);
        this.#log.info(`tunnel to ${peer.name} (${peer.meshIpv4}) up, endpoint ${state.endpoint}`);
      } else if (!up && this.#tunnelsUp.has(peer.id)) {
        this.#tunnelsUp.delete(peer.id);
        this.#log.info(`tunnel to ${peer.name} down`);
      }
    }
  }

  #devicePeersByKey(): Map<string, DevicePeer> {
    const peers = new Map<string, DevicePeer>();
    for (const peer of this.#device?.devicePeers() ?? []) {
      peers.set(encodeHex(peer.publicKey), peer);
    }
    return peers;
  }

  /** What `meshguard status` shows. */
  status(context: StatusContext): DaemonStatus {
    const publicKey = this.#identity.publicKey;
    const snapshot = this.#devicePeersByKey();
    const counts = { alive: 0, suspect: 0, dead: 0 };
    const peers: PeerStatus[] = [];
    for (const peer of this.peers.peers()) {
      const member = this.#swim?.member(peer.publicKey) ?? null;
      if (member === null) continue;
      if (member.state === "alive" || member.state === "suspect" || member.state === "dead") {
        counts[member.state]++;
      }
      const device = snapshot.get(encodeHex(peer.wireguardKey));
      const endpoint = device?.endpoint ?? peer.endpoint;
      const relay = this.#relays?.relayOf(peer.publicKey, endpoint) ?? null;
      peers.push({
        name: peer.name,
        dns_name: this.peers.names.nameOf(peer.publicKey),
        public_key: encodeBase64(peer.publicKey),
        wireguard_public_key: encodeBase64(peer.wireguardKey),
        mesh_ipv4: peer.configuredIpv4 === false ? null : peer.meshIpv4,
        mesh_ipv6: peer.meshIpv6,
        state: member.state,
        endpoint,
        candidates: [...member.endpoints],
        last_handshake: device?.lastHandshake ? new Date(device.lastHandshake).toISOString() : null,
        rx_bytes: device?.rxBytes ?? 0,
        tx_bytes: device?.txBytes ?? 0,
        connection: relay === null ? "direct" : "relay",
        ...(relay === null ? {} : { relay: this.peers.peer(decodeHex(relay))?.name ?? relay }),
      });
    }
    return {
      version: VERSION,
      pid: context.pid,
      interface: context.interface,
      port: context.port,
      public_key: encodeBase64(publicKey),
      wireguard_public_key: encodeBase64(wireguardPublicKeyOf(publicKey)),
      mesh_ipv4: meshIpv4(publicKey),
      mesh_ipv6: meshIpv6(publicKey),
      dns_name: this.peers.names.selfName,
      name_conflicts: this.peers.names.conflicts().map(describeNameConflict),
      open: this.#options.open,
      trusted_orgs: this.#org.trust.orgCount,
      members: counts,
      max_members: this.peers.maxMembers,
      refused_members: this.peers.refusedMembers,
      ipv4_conflicts: this.peers.ipv4Conflicts(),
      nat: this.#natSummary(),
      peers,
      ...this.#relayServing(),
    };
  }

  /** On a relay node: `relay_serving`, its counters and pairs by member name. */
  #relayServing(): { relay_serving?: RelayServingStatus } {
    const names = new Map<string, string>();
    for (const peer of this.peers.peers()) {
      names.set(encodeHex(peer.publicKey.subarray(0, 8)), peer.name);
    }
    const serving = this.#relays?.serving((id) => names.get(id) ?? id) ?? null;
    return serving === null ? {} : { relay_serving: serving };
  }

  #natSummary(): NatStatus {
    return this.#stun?.summary() ?? { mapped_v4: null, mapped_v6: null, mapping: "unknown" };
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
