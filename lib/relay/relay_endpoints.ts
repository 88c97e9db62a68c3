/**
 * A relayed peer's WireGuard endpoint (issue 13): a virtual IPv6 address in 100::/64 (RFC 6666,
 * discard-only, never a real peer) whose low 16 bits name a binding (relay address, peer short
 * id). WireGuard, its roaming and the shared endpoint tables keep ordinary endpoints; only the
 * socket edge translates. Sending to a virtual endpoint prepends a TO_RELAY header and goes to
 * the relay; a FROM_RELAY frame from a bound relay naming a bound peer arrives as a datagram from
 * that virtual endpoint, so roaming moves the peer onto the relay, and back to its direct address
 * as soon as an authenticated datagram arrives directly (the upgrade is an endpoint switch only).
 * Bindings change on the main thread (a relay chosen, lost or replaced), never per packet.
 */

import { ByteKeyIndex } from "./byte_key_index.ts";
import {
  RELAY_FROM,
  RELAY_HEADER_BYTES,
  RELAY_TO,
  relayFrameKindAt,
  SHORT_ID_BYTES,
  writeRelayHeader,
} from "./relay_frame.ts";

/** Bindings at most (a peer has one relay at a time). */
export const MAX_RELAY_BINDINGS = 4096;
/** The port of every virtual endpoint. */
export const VIRTUAL_PORT = 9;
/** Slots: the low 16 bits of a virtual address. */
const SLOT_SPACE = 0x1_0000;
/** Bytes of a binding key: relay address (16), relay port (2), peer short id (8). */
const BINDING_KEY_BYTES = 26;

/** True when a 16-byte address is a virtual relay endpoint (100::/64). */
export function isVirtualRelayAddress(address: Uint8Array): boolean {
  if (address.length !== 16 || address[0] !== 0x01) return false;
  for (let i = 1; i < 14; i++) if (address[i] !== 0) return false;
  return true;
}

/** The virtual endpoint of binding `slot`, as text (for device config and status). */
export function virtualRelayEndpoint(slot: number): string {
  // As formatEndpoint writes it, so status can compare it with the device's endpoint.
  return slot === 0 ? `[100::]:${VIRTUAL_PORT}` : `[100::${slot.toString(16)}]:${VIRTUAL_PORT}`;
}

/** One binding: where its frames go and for whom (plain data: it crosses to the workers). */
export interface Binding {
  relayIp: Uint8Array;
  relayPort: number;
  peerId: Uint8Array;
}

/** The bindings of one node, and the translations at its socket edge. */
export class RelayEndpoints {
  /** Where the last wrapped frame goes (valid after `wrap` returned ≥ 0). */
  readonly toIp: Uint8Array = new Uint8Array(16);
  /** The last wrapped frame's destination port. */
  toPort = 0;
  /** Bindings by slot. Slots are handed out round the whole 16-bit space, so a released one is
   * not reused while a stale endpoint may still name it (it would reach another peer). */
  private readonly bindings = new Map<number, Binding>();
  private cursor = 0;
  private index = new ByteKeyIndex(BINDING_KEY_BYTES, 1);
  private readonly key = new Uint8Array(BINDING_KEY_BYTES);

  /** The slot for sending to `peerKey` through the relay at `relayIp`:`relayPort` (16-byte ip). */
  bind(relayIp: Uint8Array, relayPort: number, peerKey: Uint8Array): number {
    this.fillKey(relayIp, relayPort, peerKey);
    const existing = this.index.lookup(this.key);
    if (existing >= 0) return existing;
    if (this.bindings.size >= MAX_RELAY_BINDINGS) {
      throw new RangeError(`more than ${MAX_RELAY_BINDINGS} relay bindings: release unused ones`);
    }
    let slot = this.cursor;
    while (this.bindings.has(slot)) slot = (slot + 1) % SLOT_SPACE;
    this.cursor = (slot + 1) % SLOT_SPACE;
    this.bindings.set(slot, {
      relayIp: relayIp.slice(0, 16),
      relayPort,
      peerId: peerKey.slice(0, SHORT_ID_BYTES),
    });
    this.reindex();
    return slot;
  }

  /** Forgets binding `slot` (its relay died or the peer went direct for good). */
  release(slot: number): void {
    if (this.bindings.delete(slot)) this.reindex();
  }

  /** The bindings as (slot, binding) pairs, to copy into another thread's instance. */
  snapshot(): [number, Binding][] {
    return [...this.bindings].map(([slot, b]) => [slot, { ...b }]);
  }

  /** Replaces every binding with `snapshot`'s (a worker following the main thread). */
  restore(snapshot: readonly [number, Binding][]): void {
    this.bindings.clear();
    for (const [slot, b] of snapshot) this.bindings.set(slot, { ...b });
    this.reindex();
  }

  /** Bindings in use. */
  get size(): number {
    return this.bindings.size;
  }

  /**
   * Wraps a datagram for a virtual endpoint: `buffer[at, at + length)` holds it and the 16 bytes
   * before `at` are free (else it is moved 16 bytes on, which needs that room after it). Returns
   * where the frame starts (its length is length + 16) and sets toIp/toPort, or -1 when
   * `address` is not a live binding's.
   */
  wrap(buffer: Uint8Array, at: number, length: number, address: Uint8Array): number {
    if (!isVirtualRelayAddress(address)) return -1;
    const binding = this.bindings.get((address[14] << 8) | address[15]);
    if (binding === undefined) return -1;
    let start = at - RELAY_HEADER_BYTES;
    if (start < 0) {
      if (at + length + RELAY_HEADER_BYTES > buffer.length) return -1;
      // No headroom: one memmove of the datagram (the cost of the slot layout, documented).
      buffer.copyWithin(at + RELAY_HEADER_BYTES, at, at + length);
      start = at;
    }
    writeRelayHeader(buffer, start, RELAY_TO, binding.peerId);
    this.toIp.set(binding.relayIp);
    this.toPort = binding.relayPort;
    return start;
  }

  /**
   * A FROM_RELAY frame from `fromIp`:`fromPort`: when a binding matches, writes its virtual
   * address into `virtualAddress` (16 bytes) and returns the slot (the WireGuard datagram is at
   * frame offset 16); -1 (drop) for any other frame or an unbound relay or peer.
   */
  unwrap(
    frame: Uint8Array,
    fromIp: Uint8Array,
    fromPort: number,
    virtualAddress: Uint8Array,
  ): number {
    return this.unwrapAt(frame, 0, frame.length, fromIp, fromPort, virtualAddress);
  }

  /** As `unwrap`, for the frame at `bytes[at, at + length)` (a GRO segment: no view needed). */
  unwrapAt(
    bytes: Uint8Array,
    at: number,
    length: number,
    fromIp: Uint8Array,
    fromPort: number,
    virtualAddress: Uint8Array,
  ): number {
    if (relayFrameKindAt(bytes, at, length) !== RELAY_FROM) return -1;
    this.fillKey(fromIp, fromPort, bytes, at + 8);
    const slot = this.index.lookup(this.key);
    if (slot < 0) return -1;
    virtualAddress.fill(0);
    virtualAddress[0] = 0x01;
    virtualAddress[14] = slot >>> 8;
    virtualAddress[15] = slot & 0xff;
    return slot;
  }

  private fillKey(ip: Uint8Array, port: number, id: Uint8Array, idAt = 0): void {
    const key = this.key;
    for (let j = 0; j < 16; j++) key[j] = ip[j];
    key[16] = port >>> 8;
    key[17] = port & 0xff;
    for (let j = 0; j < SHORT_ID_BYTES; j++) key[18 + j] = id[idAt + j];
  }

  private reindex(): void {
    const index = new ByteKeyIndex(BINDING_KEY_BYTES, Math.max(1, this.bindings.size));
    this.bindings.forEach((binding, slot) => {
      this.fillKey(binding.relayIp, binding.relayPort, binding.peerId);
      index.insert(this.key, slot);
    });
    this.index = index;
  }
}
