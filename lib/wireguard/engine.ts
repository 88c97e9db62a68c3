/**
 * The WireGuard protocol engine, sans-IO: datagrams, inner packets and `now` go in; datagrams
 * to send and packets to deliver come out through a sink. It implements the kernel's
 * behaviour: MAC1 on every handshake message, cookies under load, per-source rate limits,
 * TAI64N replay and flood checks, keypair rotation, all five timers, cryptokey routing and
 * the inner-source check, endpoint roaming and keepalives.
 */

import type { CryptoCore } from "../crypto/crypto_core.ts";
import { replayReset } from "../crypto/replay_window.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import { AllowedIps } from "./allowed_ips.ts";
import {
  MESSAGE_COOKIE_REPLY_SIZE,
  MESSAGE_DATA,
  MESSAGE_HANDSHAKE_COOKIE,
  MESSAGE_HANDSHAKE_INITIATION,
  MESSAGE_HANDSHAKE_RESPONSE,
  MIN_INITIATION_INTERVAL,
  REKEY_ATTEMPT_TIME,
  REKEY_TIMEOUT,
  REKEY_TIMEOUT_JITTER_MAX,
  ZERO_KEYS_AFTER,
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
import { type Keypair, keypairUsable } from "./keypairs.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";
import { Peer, type PeerConfig } from "./peer.ts";
import { DataPath, type KeypairEntry, type SealedDestination } from "./data_path.ts";
import { runDueTimers } from "./peer_timers.ts";
import { HandshakeGate } from "./handshake_gate.ts";
import {
  emptyEngineStats,
  type EngineOptions,
  type EngineSink,
  type EngineStats,
} from "./engine_types.ts";
import { tai64n, tai64nAfter } from "./tai64n.ts";
import {} from "./transport.ts";

/** Handshake retransmissions before giving up (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT). */
const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
/** DH-costing handshake messages processed per call; the rest wait in the bounded queue. */
const HANDSHAKES_PER_CALL = 16;

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
  readonly allowedIps: AllowedIps<Peer> = new AllowedIps<Peer>();
  private readonly indices = new IndexTable<Peer, Keypair>();
  private readonly freeSlots: number[] = [];
  /** Key slots in wasm memory per keypair; the receive slot's replay window is the keypair's. */
  private readonly slotsOf = new Map<Keypair, { receive: number; send: number }>();
  /** 12 bytes of wasm memory this engine owns, for in-place AEAD nonces. */
  private readonly nonceAddress: number;
  readonly stats: EngineStats = emptyEngineStats();
  private readonly dataPath: DataPath;

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
    for (let slot = this.core.layout.replaySlots - 1; slot >= 0; slot--) {
      this.freeSlots.push(slot);
    }
    this.nonceAddress = options.nonceAddress ?? this.core.layout.arenaBase;
    this.core.checkRange(this.nonceAddress, 12);
    // The nonce is 0⁴ ‖ counter: only the counter part is ever written afterwards.
    this.core.bytes.fill(0, this.nonceAddress, this.nonceAddress + 12);
    this.dataPath = new DataPath({
      p: this.p,
      core: this.core,
      sink: this.sink,
      stats: this.stats,
      allowedIps: this.allowedIps,
      indices: this.indices,
      mtu: this.mtu,
      nonceAddress: this.nonceAddress,
      slotsOf: this.slotsOf,
      releaseKeypair: (keypair) => this.releaseKeypair(keypair),
      initiateHandshake: (peer, now, retry) => this.initiateHandshake(peer, now, retry),
    });
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
      peer = new Peer(this.p, publicKey.slice());
      this.peersByKey.set(keyOf(publicKey), peer);
    }
    const keepaliveWas = peer.persistentKeepalive;
    peer.configure(config);
    // As the kernel: turning persistent keepalive on sends one at once (opening NAT state).
    if (now !== undefined && peer.persistentKeepalive > 0 && keepaliveWas === 0) {
      this.dataPath.sendKeepalive(peer, now);
    }
    return peer;
  }

  /** Removes a peer, wiping its keys and routes. */
  removePeer(publicKey: Uint8Array): void {
    const peer = this.peersByKey.get(keyOf(publicKey));
    if (!peer) return;
    this.resetSessions(peer);
    this.allowedIps.removeOwner(peer);
    this.peersByKey.delete(keyOf(publicKey));
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
      const at = peer.nextDeadline();
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }

  // ─── input: datagrams from the network ───

  /** Handles one datagram received from `source`. */
  receiveDatagram(bytes: Uint8Array, source: Endpoint, now: number): void {
    if (bytes.length < 4 || bytes[1] !== 0 || bytes[2] !== 0 || bytes[3] !== 0) return;
    switch (bytes[0]) {
      case MESSAGE_DATA:
        this.dataPath.receiveTransport(bytes, source, now);
        return;
      case MESSAGE_HANDSHAKE_INITIATION:
      case MESSAGE_HANDSHAKE_RESPONSE:
      case MESSAGE_HANDSHAKE_COOKIE:
        // Queued, not handled: the host calls processHandshakes after each receive batch, so
        // a flood builds a queue and the device goes under load, as the kernel's does.
        if (!this.gate.enqueue(bytes, source)) this.stats.handshakeQueueFull++;
        return;
    }
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
    peer.rxBytes += bytes.length; // handshake bytes count, as in wireguard-go
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
    this.installKeypair(peer, {
      localIndex,
      remoteIndex: consumed.remoteIndex,
      sendKey: response.keys.sendKey,
      receiveKey: response.keys.receiveKey,
      createdAt: now,
      isInitiator: false,
      sendCounter: 0n,
    }, now);
    this.dataPath.sendRaw(peer, response.message, now);
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
    peer.rxBytes += bytes.length;
    this.installKeypair(peer, {
      localIndex: receiver,
      remoteIndex: view.getUint32(RESPONSE.sender, true),
      sendKey: keys.sendKey,
      receiveKey: keys.receiveKey,
      createdAt: now,
      isInitiator: true,
      sendCounter: 0n,
    }, now);
    // Handshake complete: stop retransmitting and confirm the session with data or a keepalive.
    peer.retransmitHandshakeAt = null;
    peer.handshakeAttempts = 0;
    this.dataPath.sendKeepalive(peer, now);
  }

  private installKeypair(peer: Peer, keypair: Keypair, now: number): void {
    const receive = this.freeSlots.pop();
    const send = this.freeSlots.pop();
    if (receive === undefined || send === undefined) {
      throw new RangeError("out of key slots: raise keySlots in the memory layout");
    }
    replayReset(this.core, receive);
    this.core.setKey(receive, keypair.receiveKey);
    this.core.setKey(send, keypair.sendKey);
    this.slotsOf.set(keypair, { receive, send });
    const entry: KeypairEntry = { kind: "keypair", peer, keypair };
    this.indices.replace(keypair.localIndex, entry);
    for (const dropped of peer.keypairs.install(keypair)) this.releaseKeypair(dropped);
    peer.lastHandshakeAt = now;
    peer.zeroKeyMaterialAt = now + ZERO_KEYS_AFTER;
  }

  private releaseKeypair(keypair: Keypair): void {
    this.indices.free(keypair.localIndex);
    const slots = this.slotsOf.get(keypair);
    if (slots !== undefined) {
      this.slotsOf.delete(keypair);
      this.core.clearKey(slots.receive);
      this.core.clearKey(slots.send);
      this.freeSlots.push(slots.send, slots.receive);
    }
  }

  /** Encrypts and sends an inner packet to the peer that owns its destination. */
  sendPacket(packet: Uint8Array, now: number): void {
    this.dataPath.sendPacket(packet, now);
  }

  /** In-place decryption in wasm memory; see DataPath.openInPlace. */
  openInPlace(at: number, length: number, source: Endpoint, now: number): number {
    return this.dataPath.openInPlace(at, length, source, now);
  }

  /** In-place encryption in wasm memory; see DataPath.sealInPlace. */
  sealInPlace(at: number, length: number, now: number, out: SealedDestination): boolean {
    return this.dataPath.sealInPlace(at, length, now, out);
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
    this.dataPath.sendRaw(peer, created.message, now);
    peer.retransmitHandshakeAt = now + REKEY_TIMEOUT +
      Math.floor(this.random() * REKEY_TIMEOUT_JITTER_MAX);
  }

  // ─── time ───

  /** Runs every timer that is due at `now` and any queued handshake work. */
  tick(now: number): void {
    this.processHandshakes(now);
    for (const peer of this.peersByKey.values()) {
      runDueTimers(peer, now, {
        retransmitHandshake: () => {
          if (peer.handshakeAttempts >= MAX_TIMER_HANDSHAKES) {
            // Give up: drop what waited for this session; keys go after ZERO_KEYS_AFTER.
            peer.staged = [];
            if (peer.pending) this.indices.free(peer.pending.localIndex);
            peer.pending = null;
            peer.zeroKeyMaterialAt ??= now + ZERO_KEYS_AFTER;
          } else {
            peer.handshakeAttempts++;
            this.initiateHandshake(peer, now, true);
          }
        },
        sendKeepalive: () => this.dataPath.sendKeepalive(peer, now),
        newHandshake: () => this.initiateHandshake(peer, now, false),
        zeroKeyMaterial: () => this.resetSessions(peer),
      });
    }
  }

  /** Forgets every session and pending handshake of a peer, wiping the keys. */
  private resetSessions(peer: Peer): void {
    for (const keypair of peer.keypairs.clear()) this.releaseKeypair(keypair);
    if (peer.pending) {
      this.indices.free(peer.pending.localIndex);
      peer.pending.state.ephemeralPrivate.fill(0);
      peer.pending = null;
    }
    peer.retransmitHandshakeAt = null;
    peer.sendKeepaliveAt = null;
    peer.newHandshakeAt = null;
    peer.zeroKeyMaterialAt = null;
  }

  /** True when the peer has a keypair it may send with at `now`. */
  hasSession(peer: Peer, now: number): boolean {
    const keypair = peer.keypairs.current;
    return keypair !== null && keypairUsable(keypair, now);
  }
}

function keyOf(publicKey: Uint8Array): string {
  return String.fromCharCode(...publicKey);
}
