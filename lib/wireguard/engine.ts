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
import type { Endpoint } from "./endpoint.ts";
import { IndexTable } from "./index_table.ts";
import { EngineKeypairs } from "./engine_keypairs.ts";
import { EngineHandshakes, type EngineIdentity } from "./engine_handshakes.ts";
import type { Keypair } from "./keypairs.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";
import { Peer, type PeerConfig } from "./peer.ts";
import {
  disarmAllTimers,
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

export { FRESH_PATH_INITIATION_GAP } from "./engine_handshakes.ts";

/** A userspace WireGuard device's protocol state. */
export class WireguardEngine {
  private readonly p: NoisePrimitives;
  private readonly core: CryptoCore;
  private readonly sink: EngineSink;
  readonly mtu: number;
  /** Our static key pair, shared with `handshakes` (replaced by setPrivateKey). */
  private readonly identity: EngineIdentity;
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
  /** Queued handshake messages answered, initiations started (the Noise side). */
  private readonly handshakes: EngineHandshakes;
  /** How often each timer rule fired (tests and diagnostics). */
  readonly timerRulesFired: Record<TimerRule, number> = Object.fromEntries(
    TIMER_RULES.map((rule) => [rule, 0]),
  ) as Record<TimerRule, number>;
  private readonly timerActions: TimerActions;

  constructor(options: EngineOptions) {
    this.p = options.primitives;
    this.core = options.core;
    this.sink = options.sink;
    this.mtu = options.mtu ?? 1420;
    // Without a configured key (a device before `wg set private-key`), a throwaway key keeps
    // the tables consistent, but no handshake is made or answered until one is set.
    const initialKey = options.privateKey?.slice() ?? this.p.generatePrivateKey();
    this.identity = {
      local: { privateKey: initialKey, publicKey: this.p.publicKey(initialKey) },
      configured: options.privateKey !== undefined,
    };
    this.gate = new HandshakeGate(this.p, this.identity.local.publicKey, options.now);
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
    this.handshakes = new EngineHandshakes({
      primitives: this.p,
      identity: this.identity,
      gate: this.gate,
      sink: this.sink,
      stats: this.stats,
      indices: this.indices,
      keypairs: this.keypairs,
      dataPlane: this.dataPlane,
      peerByKey: (publicKey) => this.peer(publicKey),
      wallClock: options.wallClock ?? Date.now,
      random: options.random ?? Math.random,
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
    return this.identity.configured ? this.identity.local.privateKey.slice() : null;
  }

  /** Our static public key. */
  get publicKey(): Uint8Array {
    return this.identity.local.publicKey;
  }

  /** Replaces our private key; every session is dropped (as `wg set private-key` does). */
  setPrivateKey(privateKey: Uint8Array, now: number): void {
    this.identity.configured = true;
    this.identity.local.privateKey.fill(0);
    this.identity.local = {
      privateKey: privateKey.slice(),
      publicKey: this.p.publicKey(privateKey),
    };
    this.gate.setLocalPublicKey(this.identity.local.publicKey, now);
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
    if (constantTimeEqual(publicKey, this.identity.local.publicKey)) {
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
    this.handshakes.process(now);
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
    return this.handshakes.initiateOnFreshPath(peer, now);
  }

  /** Starts (or, when `retry`, repeats) a handshake with the peer, rate-limited as the kernel. */
  initiateHandshake(peer: Peer, now: number, retry: boolean): void {
    this.handshakes.initiate(peer, now, retry);
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
