/**
 * The engine's handshakes: queued handshake messages worked through (cookie replies taken,
 * MAC1/MAC2 and load checks by the gate, initiations answered, responses completing ours, each
 * new keypair installed) and initiations started, retried or begun early on a fresh path.
 */

import type { DataPlane } from "./data_plane.ts";
import type { DataPlaneState } from "./data_plane_state.ts";
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
import type { IndexTable } from "./index_table.ts";
import type { EngineKeypairs } from "./engine_keypairs.ts";
import type { Keypair } from "./keypairs.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";
import type { Peer } from "./peer.ts";
import { armRetransmitHandshake, handshakeComplete } from "./peer_timers.ts";
import type { HandshakeGate } from "./handshake_gate.ts";
import type { EngineSink, EngineStats } from "./engine_types.ts";
import { tai64n, tai64nAfter } from "./tai64n.ts";

/** DH-costing handshake messages processed per call; the rest wait in the bounded queue. */
const HANDSHAKES_PER_CALL = 16;
/**
 * Least time between an initiation and one started because a new path became usable (ms): well
 * over the receiver's MIN_INITIATION_INTERVAL and a relayed round trip, well under REKEY_TIMEOUT.
 */
export const FRESH_PATH_INITIATION_GAP = 500;

/** Our static key pair, shared with the engine, which replaces it on `wg set private-key`. */
export interface EngineIdentity {
  /** The static key pair handshakes are made with. */
  local: LocalStatic;
  /** False until a key is configured: a throwaway key then stands in, and no handshake is made. */
  configured: boolean;
}

/** What the engine's handshakes work with (all shared with the engine). */
export interface EngineHandshakesOptions {
  primitives: NoisePrimitives;
  identity: EngineIdentity;
  gate: HandshakeGate;
  sink: EngineSink;
  stats: EngineStats;
  indices: IndexTable<Peer, Keypair>;
  keypairs: EngineKeypairs;
  /** The engine's own data path (keepalives, session checks, the shared tables). */
  dataPlane: DataPlane;
  /** The configured peer with this public key. */
  peerByKey: (publicKey: Uint8Array) => Peer | undefined;
  /** Wall-clock ms for TAI64N. */
  wallClock: () => number;
  /** Uniform random in [0, 1) for retransmit jitter. */
  random: () => number;
}

/** Answers, completes and starts one engine's handshakes. */
export class EngineHandshakes {
  readonly #p: NoisePrimitives;
  readonly #identity: EngineIdentity;
  readonly #gate: HandshakeGate;
  readonly #sink: EngineSink;
  readonly #stats: EngineStats;
  readonly #indices: IndexTable<Peer, Keypair>;
  readonly #keypairs: EngineKeypairs;
  readonly #dataPlane: DataPlane;
  readonly #state: DataPlaneState;
  readonly #peerByKey: (publicKey: Uint8Array) => Peer | undefined;
  readonly #wallClock: () => number;
  readonly #random: () => number;

  /** Handshakes over the engine's shared gate, tables and peers. */
  constructor(options: EngineHandshakesOptions) {
    this.#p = options.primitives;
    this.#identity = options.identity;
    this.#gate = options.gate;
    this.#sink = options.sink;
    this.#stats = options.stats;
    this.#indices = options.indices;
    this.#keypairs = options.keypairs;
    this.#dataPlane = options.dataPlane;
    this.#state = options.dataPlane.state;
    this.#peerByKey = options.peerByKey;
    this.#wallClock = options.wallClock;
    this.#random = options.random;
  }

  /** Works through queued handshake messages; expensive ones are bounded per call. */
  process(now: number): void {
    let expensive = 0;
    while (expensive < HANDSHAKES_PER_CALL) {
      const item = this.#gate.next(now);
      if (!item) return;
      if (this.#handle(item.bytes, item.source, now, item.underLoad)) expensive++;
    }
  }

  /** Handles one handshake message; returns true when it cost DH work. */
  #handle(bytes: Uint8Array, source: Endpoint, now: number, underLoad: boolean): boolean {
    // No key configured: nothing addressed to "us" can be valid, and no MAC1 key is ours yet.
    if (!this.#identity.configured) return false;
    const type = bytes[0];
    if (type === MESSAGE_HANDSHAKE_COOKIE) {
      if (bytes.length === MESSAGE_COOKIE_REPLY_SIZE) this.#consumeCookieReply(bytes, now);
      return false;
    }
    const verdict = this.#gate.check(bytes, source, now, underLoad);
    if (verdict === "invalid-mac") {
      this.#stats.invalidMac++;
      return false;
    }
    if (verdict === "needs-cookie") {
      this.#sink.sendDatagram(this.#gate.cookieReply(bytes, source, now), source);
      this.#stats.cookieRepliesSent++;
      return false;
    }
    if (verdict === "rate-limited") {
      this.#stats.rateLimited++;
      return false;
    }
    if (type === MESSAGE_HANDSHAKE_INITIATION) this.#consumeInitiation(bytes, source, now);
    else this.#consumeResponse(bytes, source, now);
    return true;
  }

  #consumeCookieReply(bytes: Uint8Array, now: number): void {
    const receiver = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
    const entry = this.#indices.lookup(receiver);
    if (!entry) return;
    entry.peer.cookieJar.consumeReply(bytes, now);
  }

  #consumeInitiation(bytes: Uint8Array, source: Endpoint, now: number): void {
    const consumed = consumeInitiation(this.#p, this.#identity.local, bytes);
    if (!consumed) {
      this.#stats.handshakeFailed++;
      return;
    }
    const peer = this.#peerByKey(consumed.remoteStatic);
    if (!peer) {
      this.#stats.unknownPeer++;
      return;
    }
    if (peer.latestTimestamp && !tai64nAfter(consumed.timestamp, peer.latestTimestamp)) {
      this.#stats.replayedInitiations++;
      return;
    }
    if (now - peer.lastInitiationConsumedAt < MIN_INITIATION_INTERVAL) {
      this.#stats.floodedInitiations++;
      return;
    }
    this.#noteReceived(peer, bytes.length, now);
    peer.latestTimestamp = consumed.timestamp;
    peer.lastInitiationConsumedAt = now;
    this.#stats.initiationsConsumed++;
    const localIndex = this.#indices.allocate({ kind: "handshake", peer });
    const response = createResponse(this.#p, consumed, localIndex, peer.presharedKey);
    if (!response) {
      this.#indices.free(localIndex);
      this.#stats.handshakeFailed++;
      return;
    }
    peer.cookieJar.addMacs(response.message, now);
    peer.endpoint = source;
    // As the kernel: a response counts as a handshake sent, so the responder does not also
    // initiate for REKEY_TIMEOUT (that would make both sides race).
    peer.lastInitiationSentAt = now;
    this.#keypairs.install(peer, {
      id: this.#indices.recordOf(localIndex),
      localIndex,
      remoteIndex: consumed.remoteIndex,
      sendKey: response.keys.sendKey,
      receiveKey: response.keys.receiveKey,
      createdAt: now,
      isInitiator: false,
    }, now);
    this.#send(peer, response.message, now);
  }

  #consumeResponse(bytes: Uint8Array, source: Endpoint, now: number): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const receiver = view.getUint32(RESPONSE.receiver, true);
    const entry = this.#indices.lookup(receiver);
    const peer = entry?.kind === "handshake" ? entry.peer : undefined;
    if (!peer || !peer.pending || peer.pending.localIndex !== receiver) {
      this.#stats.unknownPeer++;
      return;
    }
    const keys = consumeResponse(
      this.#p,
      this.#identity.local,
      peer.pending.state,
      peer.presharedKey,
      bytes,
    );
    if (!keys) {
      this.#stats.handshakeFailed++;
      return;
    }
    peer.pending = null;
    peer.endpoint = source;
    this.#noteReceived(peer, bytes.length, now);
    this.#keypairs.install(peer, {
      id: this.#indices.recordOf(receiver),
      localIndex: receiver,
      remoteIndex: view.getUint32(RESPONSE.sender, true),
      sendKey: keys.sendKey,
      receiveKey: keys.receiveKey,
      createdAt: now,
      isInitiator: true,
    }, now);
    // Handshake complete: stop retransmitting and confirm the session with data or a keepalive.
    handshakeComplete(peer);
    this.#dataPlane.sendKeepalive(peer.id, now);
  }

  /** A handshake message from the peer authenticated: count it and note it, as the kernel. */
  #noteReceived(peer: Peer, length: number, now: number): void {
    this.#state.addTraffic(0, peer.id, length, 0); // handshake bytes count, as in wireguard-go
    this.#state.noteReceived(peer.id, false, now);
  }

  /**
   * A new path to the peer just became usable: starts a handshake at once unless a session is
   * current or an initiation went out less than FRESH_PATH_INITIATION_GAP ago (see
   * `WireguardEngine.initiateOnFreshPath`). True if one went out.
   */
  initiateOnFreshPath(peer: Peer, now: number): boolean {
    if (!peer.endpoint || !this.#identity.configured) return false;
    if (this.#dataPlane.hasSession(peer.id, now)) return false;
    if (now - peer.lastInitiationSentAt < FRESH_PATH_INITIATION_GAP) return false;
    peer.handshakeAttempts = 0;
    this.initiate(peer, now, true);
    return true;
  }

  /** Starts (or, when `retry`, repeats) a handshake with the peer, rate-limited as the kernel. */
  initiate(peer: Peer, now: number, retry: boolean): void {
    if (!peer.endpoint || !this.#identity.configured) return;
    if (!retry) {
      if (now - peer.lastInitiationSentAt < REKEY_TIMEOUT) return;
      peer.handshakeAttempts = 0;
    }
    if (peer.pending) this.#indices.free(peer.pending.localIndex);
    const localIndex = this.#indices.allocate({ kind: "handshake", peer });
    const timestamp = tai64n(this.#wallClock());
    const created = createInitiation(
      this.#p,
      this.#identity.local,
      peer.publicKey,
      localIndex,
      timestamp,
    );
    if (!created) {
      this.#indices.free(localIndex);
      peer.pending = null;
      return;
    }
    peer.pending = { localIndex, state: created.state };
    peer.cookieJar.addMacs(created.message, now);
    peer.lastInitiationSentAt = now;
    this.#send(peer, created.message, now);
    armRetransmitHandshake(peer, now, this.#random);
  }

  /** Sends a handshake message (already built) to the peer's endpoint. */
  #send(peer: Peer, message: Uint8Array, now: number): void {
    const endpoint = peer.endpoint;
    if (!endpoint) return;
    this.#state.addTraffic(0, peer.id, 0, message.length);
    this.#sink.sendDatagram(message, endpoint);
    this.#state.noteSent(peer.id, false, now);
  }
}
