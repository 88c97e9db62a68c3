/**
 * The transport data path, as every thread runs it: seal an inner packet and open a transport
 * message in place in wasm memory, against the shared tables (keypairs, endpoints, activity)
 * and a routing table. The main thread's engine and each data worker own one instance; per
 * packet it only reads shared state, takes a send counter and notes activity. What needs the
 * main thread (a handshake, a confirmed keypair) goes out through `events`, at most once per
 * REKEY_TIMEOUT per peer or once per keypair, never per packet.
 */

import type { CryptoCore } from "../crypto/crypto_core.ts";
import { KEY_SLOT_BYTES } from "../crypto/memory_layout.ts";
import {
  AEAD_NONCE_SIZE,
  AUTH_TAG_SIZE,
  MESSAGE_DATA,
  MESSAGE_DATA_COUNTER_OFFSET,
  MESSAGE_DATA_HEADER_SIZE,
  MESSAGE_DATA_RECEIVER_OFFSET,
  NONCE_COUNTER_OFFSET,
  REKEY_TIMEOUT,
  SEND_COUNTER_LIMIT,
} from "./constants.ts";
import { type DataPlaneState, NONE } from "./data_plane_state.ts";
import type { Endpoint } from "./endpoint.ts";
import {
  rejectAfterTime,
  rekeyAfterMessages,
  rekeyAfterTimeOnReceive,
  rekeyAfterTimeOnSend,
} from "./peer_timers.ts";
import {
  checkDataPlaneOptions,
  type DataPathStats,
  type DataPlaneEvents,
  type DataPlaneOptions,
  packetScratchBytes,
  type RouteLookup,
  type SealedDestination,
} from "./data_plane_options.ts";
import {
  innerAddressLength,
  innerDestinationOffset,
  innerPacketLengthAt,
  innerSourceOffset,
  paddedLength,
} from "./transport.ts";

export {
  type DataPathStats,
  type DataPlaneEvents,
  type DataPlaneOptions,
  dataPlaneScratchBytes,
  type RouteLookup,
  type SealedDestination,
} from "./data_plane_options.ts";

/** Packets kept per peer while a handshake is in flight (the kernel keeps 128 too). */
export const MAX_STAGED_PACKETS = 128;

/** One endpoint as last read from the shared table, and the sequence it was read at. */
interface CachedEndpoint {
  sequence: number;
  endpoint: Endpoint | null;
}

/** Seals and opens transport messages for one thread. */
export class DataPlane {
  readonly state: DataPlaneState;
  readonly stats: DataPathStats;
  private readonly core: CryptoCore;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly keySlotBase: number;
  private readonly routes: RouteLookup;
  private readonly events: DataPlaneEvents;
  private readonly sendDatagram: (bytes: Uint8Array, to: Endpoint) => void;
  private readonly writer: number;
  private readonly mtu: number;
  private readonly nonceAddress: number;
  private readonly scratchAddress: number;
  /** The whole memory as 32-bit words: a key moves as 8 words, not as a builtin call. */
  private readonly words: Int32Array;
  /** Where `sealWith` keeps the send key it seals with, so it can undo a seal that lost a race. */
  private readonly sealKeyAddress: number;
  private readonly endpoints: (CachedEndpoint | undefined)[] = [];
  private readonly endpointBuffer = new Uint8Array(16);
  private readonly staged = new Map<number, Uint8Array[]>();
  /** The generation `sendingKeypair` saw, valid right after it returned a keypair. */
  private generation = 0;
  /** The peer id of the packet `openInPlace` last returned (the service policy's key). */
  openedPeer = NONE;

  constructor(options: DataPlaneOptions) {
    checkDataPlaneOptions(options);
    this.core = options.core;
    this.state = options.state;
    this.bytes = options.core.bytes;
    this.view = options.core.view;
    this.keySlotBase = options.core.layout.keySlotBase;
    this.routes = options.routes;
    this.events = options.events;
    this.sendDatagram = options.send;
    this.writer = options.writer;
    this.mtu = options.mtu;
    this.nonceAddress = options.nonceAddress;
    this.scratchAddress = options.scratchAddress;
    this.words = new Int32Array(options.core.bytes.buffer);
    this.sealKeyAddress = (options.scratchAddress + packetScratchBytes(options.mtu) + 3) & ~3;
    this.stats = options.stats;
    // The nonce is 0⁴ ‖ counter: the first four bytes are never written again.
    this.bytes.fill(0, this.nonceAddress, this.nonceAddress + AEAD_NONCE_SIZE);
  }

  // ─── endpoints ───

  /** Peer `p`'s endpoint (cached until the shared table says it changed). */
  endpointOf(p: number): Endpoint | null {
    const sequence = this.state.endpointSequence(p);
    const cached = this.endpoints[p];
    if (cached !== undefined && cached.sequence === sequence && (sequence & 1) === 0) {
      return cached.endpoint;
    }
    const port = this.state.readEndpoint(p, this.endpointBuffer);
    const address = this.endpointBuffer;
    const mapped = address[10] === 0xff && address[11] === 0xff &&
      address.subarray(0, 10).every((byte) => byte === 0);
    const endpoint = port < 0
      ? null
      : { address: mapped ? address.slice(12, 16) : address.slice(), port };
    // A writer may have moved on meanwhile; the next call sees a new sequence and rereads.
    this.endpoints[p] = { sequence, endpoint };
    return endpoint;
  }

  /** Sets peer `p`'s endpoint in the shared table. */
  setEndpoint(p: number, endpoint: Endpoint | null): void {
    if (endpoint === null) {
      this.state.setEndpoint(p, null, 0);
      return;
    }
    if (endpoint.address.length === 4) {
      const mapped = new Uint8Array(16);
      mapped[10] = mapped[11] = 0xff;
      mapped.set(endpoint.address, 12);
      this.state.setEndpoint(p, mapped, endpoint.port);
    } else {
      this.state.setEndpoint(p, endpoint.address, endpoint.port);
    }
  }

  /** True when `source` differs from peer `p`'s endpoint (the peer roamed). */
  private roamed(p: number, source: Endpoint): boolean {
    const current = this.endpointOf(p);
    if (current === null || current.port !== source.port) return true;
    const a = current.address;
    const b = source.address;
    if (a.length !== b.length) return true;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return true;
    return false;
  }

  // ─── keypairs ───

  /**
   * The keypair record peer `p` may send with at `now` (its confirmed next one, else its
   * current one), or NONE. Leaves the generation it saw in `this.generation`.
   */
  private sendingKeypair(p: number, now: number): number {
    let k = this.state.nextKeypair(p);
    if (k !== NONE && !this.state.keypairConfirmed(k)) k = NONE;
    if (k === NONE) k = this.state.currentKeypair(p);
    if (k === NONE) return NONE;
    const generation = this.state.keypairGeneration(k);
    if ((generation & 1) === 1 || rejectAfterTime(now - this.state.keypairCreatedAt(k))) {
      return NONE;
    }
    this.generation = generation;
    return k;
  }

  /** True when peer `p` has a keypair it may send with at `now`. */
  hasSession(p: number, now: number): boolean {
    return this.sendingKeypair(p, now) !== NONE;
  }

  /** Asks for a handshake with `p`, at most once per REKEY_TIMEOUT (shared by all threads). */
  private requestHandshake(p: number, now: number): void {
    if (this.state.claimHandshakeRequest(p, now, REKEY_TIMEOUT)) {
      this.events.wantHandshake(p, now);
    }
  }

  /**
   * Seals the `length`-byte packet at `at + 16` under keypair `k` (generation `generation`) into
   * a transport message at `at`. Returns its length; 0 when the keypair ran out of counters or
   * was retired meanwhile (nothing may be sent: the keys may have changed under us), and then
   * the packet at `at + 16` is plaintext again.
   */
  private sealWith(k: number, generation: number, at: number, length: number, now: number): number {
    const counter = this.state.takeSendCounter(k, SEND_COUNTER_LIMIT);
    if (counter < 0) return 0;
    const packetAt = at + MESSAGE_DATA_HEADER_SIZE;
    const padded = paddedLength(length, this.mtu);
    const bytes = this.bytes;
    bytes.fill(0, packetAt + length, packetAt + padded);
    const view = this.view;
    view.setUint32(this.nonceAddress + NONCE_COUNTER_OFFSET, counter, true);
    view.setUint32(this.nonceAddress + NONCE_COUNTER_OFFSET + 4, 0, true);
    // Sealed with a private copy of the key: the main thread may wipe or reuse the shared slot
    // the moment it retires the keypair, and undoing a seal needs the key it was made with.
    const key = this.sealKeyAddress;
    const words = this.words;
    const from = (this.keySlotBase + (2 * k + 1) * KEY_SLOT_BYTES) >> 2;
    const to = key >> 2;
    for (let i = 0; i < KEY_SLOT_BYTES / 4; i++) words[to + i] = words[from + i];
    const exports = this.core.exports;
    exports.aeadSeal(key, this.nonceAddress, 0, 0, packetAt, padded);
    const retired = this.state.keypairGeneration(k) !== generation;
    // Lost the race with retirement: decrypt in place (same key, nonce and bytes, so our own
    // tag verifies), and the caller stages the plaintext for the next keypair. The counter
    // taken is just skipped.
    if (retired) exports.aeadOpen(key, this.nonceAddress, 0, 0, packetAt, padded);
    for (let i = 0; i < KEY_SLOT_BYTES / 4; i++) words[to + i] = 0; // no copy outlives its use
    if (retired) return 0;
    view.setUint32(at, MESSAGE_DATA, true);
    view.setUint32(at + MESSAGE_DATA_RECEIVER_OFFSET, this.state.keypairRemoteIndex(k), true);
    view.setUint32(at + MESSAGE_DATA_COUNTER_OFFSET, counter, true);
    view.setUint32(at + MESSAGE_DATA_COUNTER_OFFSET + 4, 0, true);
    const wireLength = MESSAGE_DATA_HEADER_SIZE + padded + AUTH_TAG_SIZE;
    const p = this.state.keypairPeer(k);
    this.state.addTraffic(this.writer, p, 0, wireLength);
    this.state.noteSent(p, length > 0, now);
    if (
      rekeyAfterMessages(counter) ||
      rekeyAfterTimeOnSend(this.state.keypairIsInitiator(k), now - this.state.keypairCreatedAt(k))
    ) {
      this.requestHandshake(p, now);
    }
    return wireLength;
  }

  // ─── outbound ───

  /**
   * Encrypts, in place in wasm memory, the inner packet of `length` bytes at `at + 16` (the
   * 16 bytes before it and room for padding and the tag after it belong to the caller's
   * buffer). On success it fills `out` with the message length (the message starts at `at`)
   * and the destination, and returns true. Without a route it returns false; without a
   * session it stages a copy, asks for a handshake and returns false.
   */
  sealInPlace(at: number, length: number, now: number, out: SealedDestination): boolean {
    const bytes = this.bytes;
    const packetAt = at + MESSAGE_DATA_HEADER_SIZE;
    const addressLength = innerAddressLength(bytes, packetAt, length);
    const p = addressLength === 0
      ? NONE
      : this.routes.peerAt(bytes, innerDestinationOffset(bytes, packetAt), addressLength);
    const endpoint = p === NONE ? null : this.endpointOf(p);
    if (endpoint === null) {
      this.stats.noRoute++;
      return false;
    }
    // The size test keeps the Map lookup off the per-packet path while nothing is staged.
    const queued = this.staged.size !== 0 && this.staged.has(p);
    const k = queued ? NONE : this.sendingKeypair(p, now);
    const wireLength = k === NONE ? 0 : this.sealWith(k, this.generation, at, length, now);
    if (wireLength === 0) {
      // Keep the packet (plaintext again) for the next session; what is already staged goes first.
      this.stage(p, bytes.slice(packetAt, packetAt + length));
      this.flushStaged(p, now);
      return false;
    }
    out.length = wireLength;
    out.address = endpoint.address;
    out.port = endpoint.port;
    return true;
  }

  /** Sends a keepalive (an empty packet) to `p`, after anything staged. */
  sendKeepalive(p: number, now: number): void {
    if (!this.staged.has(p)) this.stage(p, new Uint8Array(0));
    this.flushStaged(p, now);
  }

  private stage(p: number, packet: Uint8Array): void {
    let queue = this.staged.get(p);
    if (queue === undefined) this.staged.set(p, queue = []);
    if (queue.length >= MAX_STAGED_PACKETS) queue.shift();
    queue.push(packet);
  }

  /** True when packets wait for a session with `p` on this thread. */
  hasStaged(p: number): boolean {
    return this.staged.has(p);
  }

  /** Sends what waits for `p`, in order; asks for a handshake when there is no session. */
  flushStaged(p: number, now: number): void {
    const queue = this.staged.get(p);
    if (queue === undefined) return;
    const at = this.scratchAddress;
    while (queue.length > 0) {
      const packet = queue[0];
      if (packet.length > this.mtu) {
        queue.shift(); // larger than the MTU: the kernel would not have accepted it either
        continue;
      }
      const endpoint = this.endpointOf(p);
      if (endpoint === null) return;
      const k = this.sendingKeypair(p, now);
      this.bytes.set(packet, at + MESSAGE_DATA_HEADER_SIZE);
      const wireLength = k === NONE ? 0 : this.sealWith(k, this.generation, at, packet.length, now);
      if (wireLength === 0) {
        // The queue still holds the packet itself (what was sealed was a copy).
        this.requestHandshake(p, now);
        return;
      }
      queue.shift();
      this.sendDatagram(this.bytes.subarray(at, at + wireLength), endpoint);
    }
    this.staged.delete(p);
  }

  /** Drops what waits for `p` (the handshake was given up, or the peer removed). */
  dropStaged(p: number): void {
    this.staged.delete(p);
  }

  // ─── inbound ───

  /**
   * Decrypts, in place in wasm memory, the datagram of `length` bytes at `at`. Returns the
   * inner packet's length (it now starts at `at + 16`; 0 means nothing to deliver), or -1
   * when the datagram is not a transport message.
   */
  openInPlace(at: number, length: number, source: Endpoint, now: number): number {
    const bytes = this.bytes;
    if (bytes[at] !== MESSAGE_DATA || bytes[at + 1] | bytes[at + 2] | bytes[at + 3]) return -1;
    if (length < MESSAGE_DATA_HEADER_SIZE + AUTH_TAG_SIZE) {
      this.stats.transportDropped++;
      return 0;
    }
    const state = this.state;
    const view = this.view;
    const index = view.getUint32(at + MESSAGE_DATA_RECEIVER_OFFSET, true);
    const k = index & state.indexMask;
    const generation = state.keypairGeneration(k);
    if (
      (generation & 1) === 1 || !state.keypairMatches(k, index) ||
      rejectAfterTime(now - state.keypairCreatedAt(k))
    ) {
      this.stats.transportDropped++;
      return 0;
    }
    // The nonce's counter is the message's, all 64 bits (a forged high word just fails the tag).
    const counterAt = at + MESSAGE_DATA_COUNTER_OFFSET;
    const nonceCounter = this.nonceAddress + NONCE_COUNTER_OFFSET;
    view.setUint32(nonceCounter, view.getUint32(counterAt, true), true);
    view.setUint32(nonceCounter + 4, view.getUint32(counterAt + 4, true), true);
    const packetAt = at + MESSAGE_DATA_HEADER_SIZE;
    const sealedLength = length - MESSAGE_DATA_HEADER_SIZE - AUTH_TAG_SIZE;
    const opened = this.core.exports.aeadOpen(
      this.keySlotBase + 2 * k * KEY_SLOT_BYTES,
      this.nonceAddress,
      0,
      0,
      packetAt,
      sealedLength,
    );
    const inner = opened === 1 ? innerPacketLengthAt(bytes, packetAt, sealedLength) : null;
    if (inner === null || state.keypairGeneration(k) !== generation) {
      this.stats.transportDropped++;
      return 0;
    }
    // The replay window moves only after authentication, so forgeries cannot move it.
    if (this.core.exports.replayCheck(2 * k, view.getBigInt64(counterAt, true)) !== 1) {
      this.stats.replayedTransport++;
      return 0;
    }
    const p = state.keypairPeer(k);
    if (state.nextKeypair(p) === k && state.confirmKeypair(k)) {
      this.events.keypairConfirmed(p, k, now);
    }
    if (this.roamed(p, source)) this.setEndpoint(p, source);
    state.addTraffic(this.writer, p, length, 0);
    state.noteReceived(p, inner > 0, now);
    if (
      state.currentKeypair(p) === k &&
      rekeyAfterTimeOnReceive(state.keypairIsInitiator(k), now - state.keypairCreatedAt(k))
    ) {
      this.requestHandshake(p, now);
    }
    if (this.staged.size !== 0 && this.staged.has(p)) this.flushStaged(p, now);
    if (inner === 0) return 0; // a keepalive
    const addressLength = innerAddressLength(bytes, packetAt, inner);
    if (
      addressLength === 0 ||
      this.routes.peerAt(bytes, innerSourceOffset(bytes, packetAt), addressLength) !== p
    ) {
      this.stats.spoofedSource++;
      return 0;
    }
    this.openedPeer = p;
    return inner;
  }
}
