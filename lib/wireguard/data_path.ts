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
  innerDestinationAddress,
  innerPacketLength,
  innerSourceAddress,
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

/** What the data path shares with the rest of the engine. */
export interface DataPathContext {
  p: NoisePrimitives;
  core: CryptoCore;
  sink: EngineSink;
  stats: EngineStats;
  allowedIps: AllowedIps<Peer>;
  indices: IndexTable<Peer>;
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
  private get indices(): IndexTable<Peer> {
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

  /** Sends the staged packets, or starts a handshake when there is no usable session. */
  flushStaged(peer: Peer, now: number): void {
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

  sendRaw(peer: Peer, message: Uint8Array, now: number): void {
    if (!peer.endpoint) return;
    peer.txBytes += message.length;
    this.sink.sendDatagram(message, peer.endpoint);
    this.armPersistentKeepalive(peer, now);
  }

  armPersistentKeepalive(peer: Peer, now: number): void {
    peer.persistentKeepaliveAt = peer.persistentKeepalive > 0
      ? now + peer.persistentKeepalive * 1000
      : null;
  }
}
