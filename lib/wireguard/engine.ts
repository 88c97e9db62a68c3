/**
 * The WireGuard protocol engine, sans-IO: handshake datagrams and `now` go in; datagrams to send
 * come out through a sink. It implements the kernel's behaviour: MAC1 on every handshake
 * message, cookies under load, per-source rate limits, TAI64N replay and flood checks, keypair
 * rotation, all five timers, cryptokey routing and endpoint roaming. Transport data never
 * passes through it: every thread seals and opens in place with its own `DataPlane` against the
 * engine's shared tables (the engine's own one sends keepalives and what was staged).
 */

import type { CryptoCore } from "../crypto/crypto_core.ts";
import { DataPlane } from "./data_plane.ts";
import { DataPlaneState, NONE } from "./data_plane_state.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import { AllowedIps } from "./allowed_ips.ts";
import { classifyDatagram, PORT_WIREGUARD_HANDSHAKE } from "../net/port_demux.ts";
import {
  MESSAGE_COOKIE_REPLY_SIZE,
  MESSAGE_HANDSHAKE_COOKIE,
  MESSAGE_HANDSHAKE_INITIATION,
  MIN_INITIATION_INTERVAL,
  REKEY_TIMEOUT,
} from "./constants.ts";
import type { Endpoint } from "./endpoint.ts";
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  type LocalStatic,
  RESPONSE,
} from "./handshake.ts";
import { IndexTable } from "./index_table.ts";
import { EngineKeypairs } from "./engine_keypairs.ts";
import type { Keypair } from "./keypairs.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";
import { Peer, type PeerConfig } from "./peer.ts";
import {
  armRetransmitHandshake,
  disarmAllTimers,
  handshakeComplete,
  nextTimerDeadline,
  runTimerRules,
  TIMER_RULES,
  type TimerActions,
  type TimerRule,
} from "./peer_timers.ts";
import { HandshakeGate } from "./handshake_gate.ts";
import {
  emptyEngineStats,
  type EngineHooks,
  type EngineOptions,
  type EngineSink,
  type EngineStats,
} from "./engine_types.ts";
import { tai64n, tai64nAfter } from "./tai64n.ts";

/** DH-costing handshake messages processed per call; the rest wait in the bounded queue. */
const HANDSHAKES_PER_CALL = 16;
/**
 * Least time between an initiation and one started because a new path became usable (ms): well
 * over the receiver's MIN_INITIATION_INTERVAL and a relayed round trip, well under REKEY_TIMEOUT.
 */
export const FRESH_PATH_INITIATION_GAP = 500;

/** A userspace WireGuard device's protocol state. */
export class WireguardEngine {
  private readonly p: NoisePrimitives;
  private readonly core: CryptoCore;
  private readonly sink: EngineSink;
  private readonly wallClock: () => number;
  private readonly random: () => number;
  readonly mtu: number;
  private local: LocalStatic;
  private keyConfigured: boolean;
  private readonly gate: HandshakeGate;
  private readonly peersByKey = new Map<string, Peer>();
  /** Peers by their row in the shared tables. */
  private readonly peersById: (Peer | undefined)[] = [];
  /** Peer rows are handed out round-robin, so a removed peer's row is reused late. */
  private peerCursor = 0;
  readonly allowedIps: AllowedIps<Peer> = new AllowedIps<Peer>();
  private readonly indices: IndexTable<Peer, Keypair>;
  readonly stats: EngineStats = emptyEngineStats();
  /** The main thread's own data path (keepalives and staged packets). */
  readonly dataPlane: DataPlane;
  private readonly hooks: EngineHooks | undefined;
  /** Keypairs in the shared slots and table (install, publish, release). */
  private readonly keypairs: EngineKeypairs;
  /** How often each timer rule fired (tests and diagnostics). */
  readonly timerRulesFired: Record<TimerRule, number> = Object.fromEntries(
    TIMER_RULES.map((rule) => [rule, 0]),
  ) as Record<TimerRule, number>;
  private readonly timerActions: TimerActions;

  constructor(options: EngineOptions) {
    this.p = options.primitives;
    this.core = options.core;
    this.sink = options.sink;
    this.wallClock = options.wallClock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.mtu = options.mtu ?? 1420;
    // Without a configured key (a device before `wg set private-key`), a throwaway key keeps
    // the tables consistent, but no handshake is made or answered until one is set.
    const initialKey = options.privateKey?.slice() ?? this.p.generatePrivateKey();
    this.keyConfigured = options.privateKey !== undefined;
    this.local = {
      privateKey: initialKey,
      publicKey: this.p.publicKey(initialKey),
    };
    this.gate = new HandshakeGate(this.p, this.local.publicKey, options.now);
    this.hooks = options.hooks;
    const onTimerRule = options.onTimerRule;
    this.timerActions = {
      initiateHandshake: (peer, now, retry) => this.initiateHandshake(peer, now, retry),
      abandonHandshake: (peer) => {
        this.dataPlane.dropStaged(peer.id);
        this.hooks?.stagedDropped(peer.id);
        if (peer.pending) this.indices.free(peer.pending.localIndex);
        peer.pending = null;
      },
      sendKeepalive: (peer, now) => this.dataPlane.sendKeepalive(peer.id, now),
      resetSessions: (peer) => this.resetSessions(peer),
      fired: (rule, peer, now) => {
        this.timerRulesFired[rule]++;
        onTimerRule?.(rule, peer.publicKey, now);
      },
    };
    const state = options.state ?? DataPlaneState.create({
      peers: options.maxPeers ?? 256,
      keypairs: keypairRecordsFor(this.core.layout.keySlots, this.core.layout.replaySlots),
      writers: 1,
    });
    this.indices = new IndexTable<Peer, Keypair>(state.dimensions.keypairs);
    this.keypairs = new EngineKeypairs(this.core, state, this.indices, this.hooks);
    const nonceAddress = options.nonceAddress ?? this.core.layout.arenaBase;
    const allowedIps = this.allowedIps;
    this.dataPlane = new DataPlane({
      core: this.core,
      state,
      routes: {
        peerAt: (bytes, offset, length) => allowedIps.lookupIn(bytes, offset, length)?.id ?? NONE,
      },
      events: {
        wantHandshake: (id, now) => this.requestHandshake(id, now),
        keypairConfirmed: (id, record, now) => this.confirmKeypair(id, record, now),
      },
      send: (bytes, to) => this.sink.sendDatagram(bytes, to),
      writer: 0,
      mtu: this.mtu,
      nonceAddress,
      scratchAddress: options.scratchAddress ?? nonceAddress + 64,
      stats: this.stats,
    });
  }

  /** The tables shared with data workers. */
  get state(): DataPlaneState {
    return this.dataPlane.state;
  }

  /** Every allowed IP with the row of the peer that owns it (what data workers route by). */
  routeEntries(): { address: Uint8Array; cidr: number; peer: number }[] {
    return this.peers().flatMap((peer) =>
      this.allowedIps.entriesOf(peer).map((entry) => ({ ...entry, peer: peer.id }))
    );
  }

  /** A copy of the configured private key (for `wg showconf`), or null when none was set. */
  configuredPrivateKey(): Uint8Array | null {
    return this.keyConfigured ? this.local.privateKey.slice() : null;
  }

  /** Our static public key. */
  get publicKey(): Uint8Array {
    return this.local.publicKey;
  }

  /** Replaces our private key; every session is dropped (as `wg set private-key` does). */
  setPrivateKey(privateKey: Uint8Array, now: number): void {
    this.keyConfigured = true;
    this.local.privateKey.fill(0);
    this.local = { privateKey: privateKey.slice(), publicKey: this.p.publicKey(privateKey) };
    this.gate.setLocalPublicKey(this.local.publicKey, now);
    for (const peer of this.peersByKey.values()) this.resetSessions(peer);
  }

  /** How many peers are configured. */
  get peerCount(): number {
    return this.peersByKey.size;
  }

  /** All peers, in insertion order. */
  peers(): Peer[] {
    return [...this.peersByKey.values()];
  }

  /** The peer with this public key, if configured. */
  peer(publicKey: Uint8Array): Peer | undefined {
    return this.peersByKey.get(keyOf(publicKey));
  }

  /** Adds a peer or updates its configuration. Our own key is refused. */
  upsertPeer(publicKey: Uint8Array, config: PeerConfig = {}, now?: number): Peer {
    if (constantTimeEqual(publicKey, this.local.publicKey)) {
      throw new RangeError("a peer cannot have this device's own public key");
    }
    let peer = this.peersByKey.get(keyOf(publicKey));
    if (!peer) {
      const id = this.allocatePeerId();
      this.state.resetPeer(id);
      peer = new Peer(this.p, publicKey.slice(), id, this.dataPlane);
      this.peersByKey.set(keyOf(publicKey), peer);
      this.peersById[id] = peer;
    }
    const keepaliveWas = peer.persistentKeepalive;
    peer.configure(config);
    // As the kernel: turning persistent keepalive on sends one at once (opening NAT state).
    if (now !== undefined && peer.persistentKeepalive > 0 && keepaliveWas === 0) {
      peer.persistentKeepaliveArmedAt = now;
      this.dataPlane.sendKeepalive(peer.id, now);
    }
    return peer;
  }

  private allocatePeerId(): number {
    const capacity = this.state.dimensions.peers;
    for (let tried = 0; tried < capacity; tried++) {
      const id = this.peerCursor;
      this.peerCursor = (this.peerCursor + 1) % capacity;
      if (this.peersById[id] === undefined) return id;
    }
    throw new RangeError(`this device holds at most ${capacity} peers`);
  }

  /** Removes a peer, wiping its keys and routes. */
  removePeer(publicKey: Uint8Array): void {
    const peer = this.peersByKey.get(keyOf(publicKey));
    if (!peer) return;
    this.resetSessions(peer);
    this.dataPlane.dropStaged(peer.id);
    this.hooks?.stagedDropped(peer.id);
    this.allowedIps.removeOwner(peer);
    this.peersByKey.delete(keyOf(publicKey));
    this.peersById[peer.id] = undefined;
    this.state.resetPeer(peer.id);
  }

  /** Routes `address/cidr` to the peer (cryptokey routing). */
  addAllowedIp(publicKey: Uint8Array, address: Uint8Array, cidr: number): void {
    const peer = this.peer(publicKey);
    if (!peer) throw new RangeError("no such peer");
    this.allowedIps.insert(address, cidr, peer);
  }

  /** The earliest time `tick` has work to do, or null when no timer is armed. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const peer of this.peersByKey.values()) {
      const at = nextTimerDeadline(peer);
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }

  // ─── input: datagrams from the network ───

  /**
   * Handles one handshake message (types 1–3) received from `source`; anything else is ignored
   * (transport data is opened in place by a data path, `DataPlane.openInPlace`). Queued, not
   * handled: `processHandshakes` does the work.
   */
  receiveDatagram(bytes: Uint8Array, source: Endpoint, _now?: number): void {
    if (classifyDatagram(bytes) !== PORT_WIREGUARD_HANDSHAKE) return;
    // Queued, not handled: the host calls processHandshakes after each receive batch, so a
    // flood builds a queue and the device goes under load, as the kernel's does.
    if (!this.gate.enqueue(bytes, source)) this.stats.handshakeQueueFull++;
  }

  /** Handshake messages waiting for processHandshakes. */
  get queuedHandshakes(): number {
    return this.gate.length;
  }

  /** Works through queued handshake messages; expensive ones are bounded per call. */
  processHandshakes(now: number): void {
    let expensive = 0;
    while (expensive < HANDSHAKES_PER_CALL) {
      const item = this.gate.next(now);
      if (!item) return;
      if (this.handleHandshake(item.bytes, item.source, now, item.underLoad)) expensive++;
    }
  }

  /** Handles one handshake message; returns true when it cost DH work. */
  private handleHandshake(
    bytes: Uint8Array,
    source: Endpoint,
    now: number,
    underLoad: boolean,
  ): boolean {
    // No key configured: nothing addressed to "us" can be valid, and no MAC1 key is ours yet.
    if (!this.keyConfigured) return false;
    const type = bytes[0];
    if (type === MESSAGE_HANDSHAKE_COOKIE) {
      if (bytes.length === MESSAGE_COOKIE_REPLY_SIZE) this.consumeCookieReply(bytes, now);
      return false;
    }
    const verdict = this.gate.check(bytes, source, now, underLoad);
    if (verdict === "invalid-mac") {
      this.stats.invalidMac++;
      return false;
    }
    if (verdict === "needs-cookie") {
      this.sink.sendDatagram(this.gate.cookieReply(bytes, source, now), source);
      this.stats.cookieRepliesSent++;
      return false;
    }
    if (verdict === "rate-limited") {
      this.stats.rateLimited++;
      return false;
    }
    if (type === MESSAGE_HANDSHAKE_INITIATION) this.consumeInitiationFrom(bytes, source, now);
    else this.consumeResponseFrom(bytes, source, now);
    return true;
  }

  private consumeCookieReply(bytes: Uint8Array, now: number): void {
    const receiver = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
    const entry = this.indices.lookup(receiver);
    if (!entry) return;
    entry.peer.cookieJar.consumeReply(bytes, now);
  }

  private consumeInitiationFrom(bytes: Uint8Array, source: Endpoint, now: number): void {
    const consumed = consumeInitiation(this.p, this.local, bytes);
    if (!consumed) {
      this.stats.handshakeFailed++;
      return;
    }
    const peer = this.peer(consumed.remoteStatic);
    if (!peer) {
      this.stats.unknownPeer++;
      return;
    }
    if (peer.latestTimestamp && !tai64nAfter(consumed.timestamp, peer.latestTimestamp)) {
      this.stats.replayedInitiations++;
      return;
    }
    if (now - peer.lastInitiationConsumedAt < MIN_INITIATION_INTERVAL) {
      this.stats.floodedInitiations++;
      return;
    }
    this.noteHandshakeReceived(peer, bytes.length, now);
    peer.latestTimestamp = consumed.timestamp;
    peer.lastInitiationConsumedAt = now;
    this.stats.initiationsConsumed++;
    const localIndex = this.indices.allocate({ kind: "handshake", peer });
    const response = createResponse(this.p, consumed, localIndex, peer.presharedKey);
    if (!response) {
      this.indices.free(localIndex);
      this.stats.handshakeFailed++;
      return;
    }
    peer.cookieJar.addMacs(response.message, now);
    peer.endpoint = source;
    // As the kernel: a response counts as a handshake sent, so the responder does not also
    // initiate for REKEY_TIMEOUT (that would make both sides race).
    peer.lastInitiationSentAt = now;
    this.keypairs.install(peer, {
      id: this.indices.recordOf(localIndex),
      localIndex,
      remoteIndex: consumed.remoteIndex,
      sendKey: response.keys.sendKey,
      receiveKey: response.keys.receiveKey,
      createdAt: now,
      isInitiator: false,
    }, now);
    this.sendRaw(peer, response.message, now);
  }

  private consumeResponseFrom(bytes: Uint8Array, source: Endpoint, now: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const receiver = view.getUint32(RESPONSE.receiver, true);
    const entry = this.indices.lookup(receiver);
    const peer = entry?.kind === "handshake" ? entry.peer : undefined;
    if (!peer || !peer.pending || peer.pending.localIndex !== receiver) {
      this.stats.unknownPeer++;
      return;
    }
    const keys = consumeResponse(this.p, this.local, peer.pending.state, peer.presharedKey, bytes);
    if (!keys) {
      this.stats.handshakeFailed++;
      return;
    }
    peer.pending = null;
    peer.endpoint = source;
    this.noteHandshakeReceived(peer, bytes.length, now);
    this.keypairs.install(peer, {
      id: this.indices.recordOf(receiver),
      localIndex: receiver,
      remoteIndex: view.getUint32(RESPONSE.sender, true),
      sendKey: keys.sendKey,
      receiveKey: keys.receiveKey,
      createdAt: now,
      isInitiator: true,
    }, now);
    // Handshake complete: stop retransmitting and confirm the session with data or a keepalive.
    handshakeComplete(peer);
    this.dataPlane.sendKeepalive(peer.id, now);
  }

  /** A handshake message from the peer authenticated: count it and note it, as the kernel. */
  private noteHandshakeReceived(peer: Peer, length: number, now: number): void {
    this.state.addTraffic(0, peer.id, length, 0); // handshake bytes count, as in wireguard-go
    this.state.noteReceived(peer.id, false, now);
  }

  /** A data path asked for a handshake with peer row `id`. */
  requestHandshake(id: number, now: number): void {
    const peer = this.peersById[id];
    if (peer !== undefined) this.initiateHandshake(peer, now, false);
  }

  /** A data path saw the first packet under responder keypair `record`: make it current. */
  confirmKeypair(id: number, record: number, now: number): void {
    const peer = this.peersById[id];
    const next = peer?.keypairs.next;
    if (peer === undefined || !next || next.id !== record) return;
    const dropped = peer.keypairs.confirm(next);
    this.keypairs.publish(peer);
    if (dropped) this.keypairs.release(dropped);
    // The initiator proved it holds our new keys: what waited for them can go now.
    this.dataPlane.flushStaged(peer.id, now);
  }

  /**
   * A new path to the peer just became usable (a relayed route, a punched direct path): starts
   * a handshake at once unless a session is current or an initiation went out less than
   * FRESH_PATH_INITIATION_GAP ago. Unlike `initiateHandshake` it does not wait out REKEY_TIMEOUT
   * after an initiation that the old path (or a far end not yet ready) lost; the gap keeps it
   * clear of the receiver's flood limit and of an answer still in flight. True if one went out.
   */
  initiateOnFreshPath(peer: Peer, now: number): boolean {
    if (!peer.endpoint || !this.keyConfigured || this.hasSession(peer, now)) return false;
    if (now - peer.lastInitiationSentAt < FRESH_PATH_INITIATION_GAP) return false;
    peer.handshakeAttempts = 0;
    this.initiateHandshake(peer, now, true);
    return true;
  }

  /** Starts (or, when `retry`, repeats) a handshake with the peer, rate-limited as the kernel. */
  initiateHandshake(peer: Peer, now: number, retry: boolean): void {
    if (!peer.endpoint || !this.keyConfigured) return;
    if (!retry) {
      if (now - peer.lastInitiationSentAt < REKEY_TIMEOUT) return;
      peer.handshakeAttempts = 0;
    }
    if (peer.pending) this.indices.free(peer.pending.localIndex);
    const localIndex = this.indices.allocate({ kind: "handshake", peer });
    const timestamp = tai64n(this.wallClock());
    const created = createInitiation(this.p, this.local, peer.publicKey, localIndex, timestamp);
    if (!created) {
      this.indices.free(localIndex);
      peer.pending = null;
      return;
    }
    peer.pending = { localIndex, state: created.state };
    peer.cookieJar.addMacs(created.message, now);
    peer.lastInitiationSentAt = now;
    this.sendRaw(peer, created.message, now);
    armRetransmitHandshake(peer, now, this.random);
  }

  // ─── time ───

  /** Runs every timer that is due at `now` and any queued handshake work. */
  tick(now: number): void {
    this.processHandshakes(now);
    for (const peer of this.peersByKey.values()) {
      runTimerRules(peer, now, this.timerActions);
    }
  }

  /** Forgets every session and pending handshake of a peer, wiping the keys. */
  private resetSessions(peer: Peer): void {
    const cleared = peer.keypairs.clear();
    this.keypairs.publish(peer);
    for (const keypair of cleared) this.keypairs.release(keypair);
    if (peer.pending) {
      this.indices.free(peer.pending.localIndex);
      peer.pending.state.ephemeralPrivate.fill(0);
      peer.pending = null;
    }
    disarmAllTimers(peer);
  }

  /** Sends a handshake message (already built) to the peer's endpoint. */
  private sendRaw(peer: Peer, message: Uint8Array, now: number): void {
    const endpoint = peer.endpoint;
    if (!endpoint) return;
    this.state.addTraffic(0, peer.id, 0, message.length);
    this.sink.sendDatagram(message, endpoint);
    this.state.noteSent(peer.id, false, now);
  }

  /** True when the peer has a keypair it may send with at `now`. */
  hasSession(peer: Peer, now: number): boolean {
    return this.dataPlane.hasSession(peer.id, now);
  }
}

/** Keypair records a core's slots hold: two key slots each, a power of two. */
export function keypairRecordsFor(keySlots: number, replaySlots: number): number {
  const pairs = Math.floor(Math.min(keySlots, replaySlots + 1) / 2);
  if (pairs < 2) {
    throw new RangeError(`a WireGuard engine needs at least 4 key slots, got ${keySlots}`);
  }
  return 2 ** Math.floor(Math.log2(pairs));
}

function keyOf(publicKey: Uint8Array): string {
  return String.fromCharCode(...publicKey);
}
