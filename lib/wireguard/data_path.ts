/**
 * The engine's data path: transport messages in and out, both the reference path (byte
 * arrays) and the in-place path (packets that stay in wasm memory, keys in key slots), plus
 * staging, keepalives and the per-packet timer bookkeeping.
 */

import type { CryptoCore } from "../crypto/crypto_core.ts";
import { replayCheck } from "../crypto/replay_window.ts";
import type { AllowedIps } from "./allowed_ips.ts";
import {
  AUTH_TAG_SIZE,
  KEEPALIVE_TIMEOUT,
  MESSAGE_DATA,
  MESSAGE_DATA_HEADER_SIZE,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME,
  REKEY_TIMEOUT,
} from "./constants.ts";
import { type Endpoint, endpointsEqual } from "./endpoint.ts";
import type { EngineSink, EngineStats } from "./engine_types.ts";
import type { IndexTable } from "./index_table.ts";
import type { Keypair } from "./keypairs.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";
import type { Peer } from "./peer.ts";
import {
  innerAddressLength,
  innerDestinationAddress,
  innerDestinationOffset,
  innerPacketLengthAt,
  innerSourceOffset,
  openTransport,
  paddedLength,
  readTransportHeader,
  sealTransport,
} from "./transport.ts";

/** A keypair as the index table names it. */
export interface KeypairEntry {
  kind: "keypair";
  peer: Peer;
  keypair: Keypair;
}

/** Where `sealInPlace` says a sealed message goes (a DatagramSlot fits this shape). */
export interface SealedDestination {
  length: number;
  address: Uint8Array;
  port: number;
}

/** What the data path shares with the rest of the engine. */
export interface DataPathContext {
  p: NoisePrimitives;
  core: CryptoCore;
  sink: EngineSink;
  stats: EngineStats;
  allowedIps: AllowedIps<Peer>;
  indices: IndexTable<Peer, Keypair>;
  mtu: number;
  /** 12 bytes of wasm memory for in-place nonces (0⁴ ‖ counter). */
  nonceAddress: number;
  /** Key slots per keypair; the receive slot's replay window is the keypair's. */
  slotsOf: Map<Keypair, { receive: number; send: number }>;
  releaseKeypair(keypair: Keypair): void;
  initiateHandshake(peer: Peer, now: number, retry: boolean): void;
}

/** Sends and receives transport messages for an engine. */
export class DataPath {
  constructor(private readonly context: DataPathContext) {}

  private get p(): NoisePrimitives {
    return this.context.p;
  }
  private get core(): CryptoCore {
    return this.context.core;
  }
  private get sink(): EngineSink {
    return this.context.sink;
  }
  private get stats(): EngineStats {
    return this.context.stats;
  }
  private get allowedIps(): AllowedIps<Peer> {
    return this.context.allowedIps;
  }
  private get indices(): IndexTable<Peer, Keypair> {
    return this.context.indices;
  }
  private get mtu(): number {
    return this.context.mtu;
  }
  private get nonceAddress(): number {
    return this.context.nonceAddress;
  }
  private get slotsOf(): Map<Keypair, { receive: number; send: number }> {
    return this.context.slotsOf;
  }
  private releaseKeypair(keypair: Keypair): void {
    this.context.releaseKeypair(keypair);
  }
  private initiateHandshake(peer: Peer, now: number, retry: boolean): void {
    this.context.initiateHandshake(peer, now, retry);
  }

  /** Handles a transport message given as a byte array (the reference path). */
  receiveTransport(bytes: Uint8Array, source: Endpoint, now: number): void {
    const header = readTransportHeader(bytes);
    const found = header ? this.usableKeypair(header.receiverIndex, header.counter, now) : null;
    if (!header || !found) return;
    const packet = openTransport(this.p, found.keypair.receiveKey, bytes);
    if (packet === null) {
      this.stats.transportDropped++;
      return;
    }
    const deliver = this.afterAuthentication(
      found,
      header.counter,
      packet,
      0,
      packet.length,
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
    if (now - entry.keypair.createdAt >= REJECT_AFTER_TIME || counter >= REJECT_AFTER_MESSAGES) {
      this.stats.transportDropped++;
      return null;
    }
    return entry;
  }

  /**
   * Everything after a transport message authenticated: replay window, key confirmation,
   * roaming, timers, and the inner-source check on the `packetLength` bytes at `packetAt` in
   * `bytes`. True when the packet should be delivered. Allocates nothing unless the peer roamed.
   */
  private afterAuthentication(
    { peer, keypair }: KeypairEntry,
    counter: bigint,
    bytes: Uint8Array,
    packetAt: number,
    packetLength: number,
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
    // Callers may reuse `source` for the next datagram: keep a copy, and only when it changed.
    if (!peer.endpoint || !endpointsEqual(peer.endpoint, source)) {
      peer.endpoint = { address: source.address.slice(), port: source.port };
    }
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
    if (packetLength === 0) return false; // a keepalive
    peer.sendKeepaliveAt ??= now + KEEPALIVE_TIMEOUT;
    const addressLength = innerAddressLength(bytes, packetAt, packetLength);
    if (
      addressLength === 0 ||
      this.allowedIps.lookupIn(bytes, innerSourceOffset(bytes, packetAt), addressLength) !== peer
    ) {
      this.stats.spoofedSource++;
      return false;
    }
    return true;
  }

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
    const packetAt = at + MESSAGE_DATA_HEADER_SIZE;
    const sealedLength = length - MESSAGE_DATA_HEADER_SIZE - AUTH_TAG_SIZE;
    const opened = this.core.exports.aeadOpen(
      this.core.keySlotAddress(slots.receive),
      this.nonceAddress,
      0,
      0,
      packetAt,
      sealedLength,
    );
    if (opened !== 1) {
      this.stats.transportDropped++;
      return 0;
    }
    const inner = innerPacketLengthAt(bytes, packetAt, sealedLength);
    if (inner === null) {
      this.stats.transportDropped++;
      return 0;
    }
    const deliver = this.afterAuthentication(
      found,
      counter,
      bytes,
      packetAt,
      inner,
      length,
      source,
      now,
    );
    return deliver ? inner : 0;
  }

  /**
   * Encrypts, in place in wasm memory, the inner packet of `length` bytes at `at + 16` (the
   * 16 bytes before it and room for padding and the tag after it belong to the caller's
   * buffer). On success it fills `out` with the message length (the message starts at `at`)
   * and the destination, and returns true. Without a route it returns false; without a
   * session it stages a copy, starts a handshake and returns false.
   */
  sealInPlace(at: number, length: number, now: number, out: SealedDestination): boolean {
    const bytes = this.core.bytes;
    const packetAt = at + MESSAGE_DATA_HEADER_SIZE;
    const addressLength = innerAddressLength(bytes, packetAt, length);
    const peer = addressLength === 0
      ? undefined
      : this.allowedIps.lookupIn(bytes, innerDestinationOffset(bytes, packetAt), addressLength);
    if (!peer || !peer.endpoint) {
      this.stats.noRoute++;
      return false;
    }
    const keypair = peer.keypairs.forSending(now);
    if (!keypair || keypair.sendCounter >= REJECT_AFTER_MESSAGES || peer.staged.length > 0) {
      peer.stage(bytes.slice(packetAt, packetAt + length));
      this.flushStaged(peer, now);
      return false;
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
    out.length = MESSAGE_DATA_HEADER_SIZE + padded + AUTH_TAG_SIZE;
    out.address = peer.endpoint.address;
    out.port = peer.endpoint.port;
    this.noteSent(peer, keypair, out.length, length > 0, now);
    return true;
  }

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
  sendKeepalive(peer: Peer, now: number): void {
    if (peer.staged.length === 0) peer.stage(new Uint8Array(0));
    this.flushStaged(peer, now);
  }

  /** Sends the staged packets in order, or starts a handshake when there is no usable session. */
  flushStaged(peer: Peer, now: number): void {
    while (peer.staged.length > 0) {
      const keypair = peer.keypairs.forSending(now);
      if (!keypair || keypair.sendCounter >= REJECT_AFTER_MESSAGES) {
        // What is still staged waits for the new session.
        this.initiateHandshake(peer, now, false);
        return;
      }
      const packet = peer.staged.shift()!;
      const counter = keypair.sendCounter++;
      const message = sealTransport(
        this.p,
        keypair.sendKey,
        keypair.remoteIndex,
        counter,
        packet,
        this.mtu,
      );
      if (!peer.endpoint) return;
      this.sink.sendDatagram(message, peer.endpoint);
      this.noteSent(peer, keypair, message.length, packet.length > 0, now);
    }
  }

  /**
   * Bookkeeping after a transport message left: counters, the kernel's data-sent timers,
   * persistent keepalive, and a rekey when the keypair is old or has carried too much.
   */
  private noteSent(
    peer: Peer,
    keypair: Keypair,
    wireLength: number,
    carriedData: boolean,
    now: number,
  ): void {
    peer.txBytes += wireLength;
    if (carriedData) {
      peer.newHandshakeAt ??= now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT;
      peer.sendKeepaliveAt = null;
    }
    this.armPersistentKeepalive(peer, now);
    const needsRekey = keypair.sendCounter >= REKEY_AFTER_MESSAGES ||
      (keypair.isInitiator && now - keypair.createdAt >= REKEY_AFTER_TIME);
    if (needsRekey) this.initiateHandshake(peer, now, false);
  }

  /** Sends a handshake message (already built) to the peer's endpoint. */
  sendRaw(peer: Peer, message: Uint8Array, now: number): void {
    if (!peer.endpoint) return;
    peer.txBytes += message.length;
    this.sink.sendDatagram(message, peer.endpoint);
    this.armPersistentKeepalive(peer, now);
  }

  /** Re-arms the persistent keepalive after any authenticated packet in either direction. */
  armPersistentKeepalive(peer: Peer, now: number): void {
    peer.persistentKeepaliveAt = peer.persistentKeepalive > 0
      ? now + peer.persistentKeepalive * 1000
      : null;
  }
}
