/**
 * The WireGuard protocol engine, sans-IO: datagrams, inner packets and `now` go in; datagrams
 * to send and packets to deliver come out through a sink. It implements the kernel's
 * behaviour: MAC1 on every handshake message, cookies under load, per-source rate limits,
 * TAI64N replay and flood checks, keypair rotation, all five timers, cryptokey routing and
 * the inner-source check, endpoint roaming and keepalives.
 */

import type { CryptoCore } from "../crypto/crypto_core.ts";
import { replayCheck, replayReset } from "../crypto/replay_window.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";
import { AllowedIps } from "./allowed_ips.ts";
import {
  AUTH_TAG_SIZE,
  KEEPALIVE_TIMEOUT,
  MESSAGE_COOKIE_REPLY_SIZE,
  MESSAGE_DATA,
  MESSAGE_DATA_HEADER_SIZE,
  MESSAGE_HANDSHAKE_COOKIE,
  MESSAGE_HANDSHAKE_INITIATION,
  MESSAGE_HANDSHAKE_RESPONSE,
  MIN_INITIATION_INTERVAL,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME,
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
import { runDueTimers } from "./peer_timers.ts";
import { HandshakeGate } from "./handshake_gate.ts";
import {
  emptyEngineStats,
  type EngineOptions,
  type EngineSink,
  type EngineStats,
} from "./engine_types.ts";
import { tai64n, tai64nAfter } from "./tai64n.ts";
import {
  innerDestinationAddress,
  innerPacketLength,
  innerSourceAddress,
  openTransport,
  paddedLength,
  readTransportHeader,
  sealTransport,
} from "./transport.ts";
import { endpointsEqual } from "./endpoint.ts";

/** Handshake retransmissions before giving up (REKEY_ATTEMPT_TIME / REKEY_TIMEOUT). */
const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
/** DH-costing handshake messages processed per call; the rest wait in the bounded queue. */
const HANDSHAKES_PER_CALL = 16;

interface KeypairEntry {
  kind: "keypair";
  peer: Peer;
  keypair: Keypair;
}

/** A userspace WireGuard device's protocol state. */
export class WireguardEngine {
  private readonly p: NoisePrimitives;
  private readonly core: CryptoCore;
  private readonly sink: EngineSink;
  private readonly wallClock: () => number;
  private readonly random: () => number;
  readonly mtu: number;
  private local: LocalStatic;
  private readonly gate: HandshakeGate;
  private readonly peersByKey = new Map<string, Peer>();
  readonly allowedIps = new AllowedIps<Peer>();
  private readonly indices = new IndexTable<Peer>();
  private readonly freeSlots: number[] = [];
  /** Key slots in wasm memory per keypair; the receive slot's replay window is the keypair's. */
  private readonly slotsOf = new Map<Keypair, { receive: number; send: number }>();
  /** 12 bytes of wasm memory this engine owns, for in-place AEAD nonces. */
  private readonly nonceAddress: number;
  readonly stats: EngineStats = emptyEngineStats();

  constructor(options: EngineOptions) {
    this.p = options.primitives;
    this.core = options.core;
    this.sink = options.sink;
    this.wallClock = options.wallClock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.mtu = options.mtu ?? 1420;
    this.local = {
      privateKey: options.privateKey.slice(),
      publicKey: this.p.publicKey(options.privateKey),
    };
    this.gate = new HandshakeGate(this.p, this.local.publicKey, options.now);
    for (let slot = this.core.layout.replaySlots - 1; slot >= 0; slot--) {
      this.freeSlots.push(slot);
    }
    this.nonceAddress = options.nonceAddress ?? this.core.layout.arenaBase;
    this.core.checkRange(this.nonceAddress, 12);
    // The nonce is 0⁴ ‖ counter: only the counter part is ever written afterwards.
    this.core.bytes.fill(0, this.nonceAddress, this.nonceAddress + 12);
  }

  /** Our static public key. */
  get publicKey(): Uint8Array {
    return this.local.publicKey;
  }

  /** Replaces our private key; every session is dropped (as `wg set private-key` does). */
  setPrivateKey(privateKey: Uint8Array, now: number): void {
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
      this.sendKeepalive(peer, now);
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
        this.receiveTransport(bytes, source, now);
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
    this.sendKeepalive(peer, now);
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

  private receiveTransport(bytes: Uint8Array, source: Endpoint, now: number): void {
    const header = readTransportHeader(bytes);
    const found = header ? this.usableKeypair(header.receiverIndex, header.counter, now) : null;
    if (!header || !found) return;
    const packet = openTransport(this.p, found.keypair.receiveKey, bytes);
    if (packet === null) {
      this.stats.transportDropped++;
      return;
    }
    const deliver = this.afterAuthentication(
      found.peer,
      found.keypair,
      header.counter,
      packet,
      bytes.length,
      source,
      now,
    );
    if (deliver) this.sink.deliverPacket(packet);
  }

  /** The keypair a transport message names, if it may still receive at `now`. */
  private usableKeypair(receiverIndex: number, counter: bigint, now: number): KeypairEntry | null {
    const entry = this.indices.lookup(receiverIndex);
    if (!entry || entry.kind !== "keypair") {
      this.stats.transportDropped++;
      return null;
    }
    const found = entry as KeypairEntry;
    if (now - found.keypair.createdAt >= REJECT_AFTER_TIME || counter >= REJECT_AFTER_MESSAGES) {
      this.stats.transportDropped++;
      return null;
    }
    return found;
  }

  /**
   * Everything after a transport message authenticated: replay window, key confirmation,
   * roaming, timers, and the inner-source check. True when `packet` should be delivered.
   */
  private afterAuthentication(
    peer: Peer,
    keypair: Keypair,
    counter: bigint,
    packet: Uint8Array,
    wireLength: number,
    source: Endpoint,
    now: number,
  ): boolean {
    // The replay window is updated only after authentication, so forgeries cannot move it.
    if (!replayCheck(this.core, this.slotsOf.get(keypair)!.receive, counter)) {
      this.stats.replayedTransport++;
      return false;
    }
    const confirming = peer.keypairs.next === keypair;
    const dropped = peer.keypairs.confirm(keypair);
    if (dropped) this.releaseKeypair(dropped);
    if (!peer.endpoint || !endpointsEqual(peer.endpoint, source)) peer.endpoint = source;
    peer.rxBytes += wireLength;
    // Any authenticated packet: the peer is alive, no need to start a handshake for silence.
    peer.newHandshakeAt = null;
    this.armPersistentKeepalive(peer, now);
    if (
      peer.keypairs.current === keypair && keypair.isInitiator &&
      now - keypair.createdAt >= REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT
    ) {
      this.initiateHandshake(peer, now, false);
    }
    // The initiator proved it holds our new keys: what waited for them can go now.
    if (confirming && peer.staged.length > 0) this.flushStaged(peer, now);
    if (packet.length === 0) return false; // a keepalive
    peer.sendKeepaliveAt ??= now + KEEPALIVE_TIMEOUT;
    const sourceAddress = innerSourceAddress(packet);
    if (!sourceAddress || this.allowedIps.lookup(sourceAddress) !== peer) {
      this.stats.spoofedSource++;
      return false;
    }
    return true;
  }

  // ─── the in-place data path: packets stay in wasm memory ───

  /**
   * Decrypts, in place in wasm memory, the datagram of `length` bytes at `at`. Returns the
   * inner packet's length (it now starts at `at + 16`; 0 means nothing to deliver), or -1
   * when the datagram is not a transport message and must go to `receiveDatagram`.
   */
  openInPlace(at: number, length: number, source: Endpoint, now: number): number {
    const bytes = this.core.bytes;
    if (bytes[at] !== MESSAGE_DATA || bytes[at + 1] | bytes[at + 2] | bytes[at + 3]) return -1;
    if (length < MESSAGE_DATA_HEADER_SIZE + AUTH_TAG_SIZE) {
      this.stats.transportDropped++;
      return 0;
    }
    const view = this.core.view;
    const counter = view.getBigUint64(at + 8, true);
    const found = this.usableKeypair(view.getUint32(at + 4, true), counter, now);
    if (!found) return 0;
    const slots = this.slotsOf.get(found.keypair)!;
    view.setBigUint64(this.nonceAddress + 4, counter, true);
    const sealedLength = length - MESSAGE_DATA_HEADER_SIZE - AUTH_TAG_SIZE;
    const opened = this.core.exports.aeadOpen(
      this.core.keySlotAddress(slots.receive),
      this.nonceAddress,
      0,
      0,
      at + MESSAGE_DATA_HEADER_SIZE,
      sealedLength,
    );
    if (opened !== 1) {
      this.stats.transportDropped++;
      return 0;
    }
    const plaintext = bytes.subarray(
      at + MESSAGE_DATA_HEADER_SIZE,
      at + MESSAGE_DATA_HEADER_SIZE + sealedLength,
    );
    const inner = innerPacketLength(plaintext);
    if (inner === null) {
      this.stats.transportDropped++;
      return 0;
    }
    const packet = plaintext.subarray(0, inner);
    const deliver = this.afterAuthentication(
      found.peer,
      found.keypair,
      counter,
      packet,
      length,
      source,
      now,
    );
    return deliver ? inner : 0;
  }

  /**
   * Encrypts, in place in wasm memory, the inner packet of `length` bytes at `at + 16` (the
   * 16 bytes before it and room for padding and the tag after it belong to the caller's
   * buffer). Returns the transport message (starting at `at`) and where to send it, or null
   * when there is no route or no session yet (the packet is then staged, a copy, and a
   * handshake started).
   */
  sealInPlace(at: number, length: number, now: number): { length: number; to: Endpoint } | null {
    const bytes = this.core.bytes;
    const packetAt = at + MESSAGE_DATA_HEADER_SIZE;
    const packet = bytes.subarray(packetAt, packetAt + length);
    const destination = innerDestinationAddress(packet);
    const peer = destination ? this.allowedIps.lookup(destination) : undefined;
    if (!peer || !peer.endpoint) {
      this.stats.noRoute++;
      return null;
    }
    const keypair = peer.keypairs.forSending(now);
    if (!keypair || keypair.sendCounter >= REJECT_AFTER_MESSAGES || peer.staged.length > 0) {
      peer.stage(packet.slice());
      this.flushStaged(peer, now);
      return null;
    }
    const padded = paddedLength(length, this.mtu);
    bytes.fill(0, packetAt + length, packetAt + padded);
    const counter = keypair.sendCounter++;
    const view = this.core.view;
    view.setBigUint64(this.nonceAddress + 4, counter, true);
    this.core.exports.aeadSeal(
      this.core.keySlotAddress(this.slotsOf.get(keypair)!.send),
      this.nonceAddress,
      0,
      0,
      packetAt,
      padded,
    );
    view.setUint32(at, MESSAGE_DATA, true);
    view.setUint32(at + 4, keypair.remoteIndex, true);
    view.setBigUint64(at + 8, counter, true);
    const total = MESSAGE_DATA_HEADER_SIZE + padded + AUTH_TAG_SIZE;
    peer.txBytes += total;
    peer.newHandshakeAt ??= now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT;
    peer.sendKeepaliveAt = null;
    this.armPersistentKeepalive(peer, now);
    const needsRekey = keypair.sendCounter >= REKEY_AFTER_MESSAGES ||
      (keypair.isInitiator && now - keypair.createdAt >= REKEY_AFTER_TIME);
    if (needsRekey) this.initiateHandshake(peer, now, false);
    return { length: total, to: peer.endpoint };
  }

  // ─── input: packets from the TUN device ───

  /** Encrypts and sends an inner packet to the peer that owns its destination. */
  sendPacket(packet: Uint8Array, now: number): void {
    const destination = innerDestinationAddress(packet);
    const peer = destination ? this.allowedIps.lookup(destination) : undefined;
    if (!peer || !peer.endpoint) {
      this.stats.noRoute++;
      return;
    }
    // Staged packets may wait for a handshake: keep a copy, the caller reuses its buffer.
    peer.stage(packet.slice());
    this.flushStaged(peer, now);
  }

  /** Sends a keepalive (an empty packet), starting a handshake first when there is no session. */
  private sendKeepalive(peer: Peer, now: number): void {
    if (peer.staged.length === 0) peer.stage(new Uint8Array(0));
    this.flushStaged(peer, now);
  }

  /** Sends the staged packets, or starts a handshake when there is no usable session. */
  private flushStaged(peer: Peer, now: number): void {
    const keypair = peer.keypairs.forSending(now);
    if (!keypair) {
      this.initiateHandshake(peer, now, false);
      return;
    }
    for (const packet of peer.staged.splice(0)) {
      if (keypair.sendCounter >= REJECT_AFTER_MESSAGES) {
        peer.stage(packet);
        this.initiateHandshake(peer, now, false);
        return;
      }
      const counter = keypair.sendCounter++;
      const message = sealTransport(
        this.p,
        keypair.sendKey,
        keypair.remoteIndex,
        counter,
        packet,
        this.mtu,
      );
      this.sendRaw(peer, message, now);
      if (packet.length > 0) {
        peer.newHandshakeAt ??= now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT;
        peer.sendKeepaliveAt = null;
      }
    }
    const needsRekey = keypair.sendCounter >= REKEY_AFTER_MESSAGES ||
      (keypair.isInitiator && now - keypair.createdAt >= REKEY_AFTER_TIME);
    if (needsRekey) this.initiateHandshake(peer, now, false);
  }

  private sendRaw(peer: Peer, message: Uint8Array, now: number): void {
    if (!peer.endpoint) return;
    peer.txBytes += message.length;
    this.sink.sendDatagram(message, peer.endpoint);
    this.armPersistentKeepalive(peer, now);
  }

  private armPersistentKeepalive(peer: Peer, now: number): void {
    peer.persistentKeepaliveAt = peer.persistentKeepalive > 0
      ? now + peer.persistentKeepalive * 1000
      : null;
  }

  /** Starts (or, when `retry`, repeats) a handshake with the peer, rate-limited as the kernel. */
  initiateHandshake(peer: Peer, now: number, retry: boolean): void {
    if (!peer.endpoint) return;
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
        sendKeepalive: () => this.sendKeepalive(peer, now),
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
