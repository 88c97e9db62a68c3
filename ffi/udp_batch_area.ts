/**
 * The batch bookkeeping of `udp_socket.ts`: the reusable `DatagramSlot`, and the control
 * structures one direction of a socket keeps for sendmmsg/recvmmsg, allocated once:
 * mmsghdr[n] | iovec[n] | sockaddr_in6[n] | cmsg[n] (x86_64: msghdr 56 B with name@0,
 * namelen@8, iov@16, iovlen@24, control@32, controllen@40, flags@48; mmsghdr 64 B with
 * msg_len@56; iovec 16 B).
 */

import { InvalidArgumentError } from "./errors.ts";
import { addressOf } from "./libc.ts";
import { SOCKADDR_IN6_SIZE } from "./socket_address.ts";
import { viewAddressWords } from "./udp_segment_batch.ts";

/** Bytes of one mmsghdr. */
export const MMSGHDR_SIZE = 64;
/** Bytes of one iovec. */
export const IOVEC_SIZE = 16;
/** Bytes per sockaddr_in6 in the area. */
export const SOCKADDR_STRIDE = 32; // 28 rounded up to keep every sockaddr 8-byte aligned
/** Room for one received cmsg: CMSG_SPACE(sizeof(int)), the UDP_GRO segment size. */
export const CONTROL_STRIDE = 24;
const SLOT_BYTES = MMSGHDR_SIZE + IOVEC_SIZE + SOCKADDR_STRIDE + CONTROL_STRIDE;

/** One datagram slot of a batch: a payload view plus its length and peer; reused across calls. */
export class DatagramSlot {
  /** Where the payload lives (send) or lands (receive); typically a view of wasm memory. */
  view: Uint8Array;
  /** Payload bytes: set it before sending; the received length after receiving. */
  length = 0;
  /** Peer address: 4 or 16 bytes to send; after receiving, 16 bytes (IPv4 mapped). */
  address: Uint8Array = new Uint8Array(16);
  /** Peer port. */
  port = 0;
  /** After receiving: the datagram was larger than `view` and was cut. */
  truncated = false;
  /**
   * After receiving with UDP GRO on: the size of each datagram packed back to back in the view
   * (the last may be shorter); 0 when the slot holds one datagram.
   */
  segmentSize = 0;

  constructor(view: Uint8Array) {
    this.view = view;
  }
}

/** One slot per view, for `sendBatch`/`receiveBatch` (allocate once, reuse forever). */
export function datagramSlots(views: readonly Uint8Array[]): DatagramSlot[] {
  return views.map((view) => new DatagramSlot(view));
}

/** Control structures for one direction: mmsghdr[n] | iovec[n] | sockaddr_in6[n]. */
export class BatchArea {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly words: Uint32Array;
  readonly views: (Uint8Array | null)[];
  readonly iovecOffset: number;
  readonly nameOffset: number;
  readonly controlOffset: number;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity * SLOT_BYTES);
    this.words = new Uint32Array(this.bytes.buffer);
    this.views = new Array(capacity).fill(null);
    this.iovecOffset = capacity * MMSGHDR_SIZE;
    this.nameOffset = this.iovecOffset + capacity * IOVEC_SIZE;
    this.controlOffset = this.nameOffset + capacity * SOCKADDR_STRIDE;
    const base = addressOf(this.bytes);
    const data = new DataView(this.bytes.buffer);
    for (let i = 0; i < capacity; i++) {
      const header = i * MMSGHDR_SIZE;
      data.setBigUint64(header, base + BigInt(this.nameOffset + i * SOCKADDR_STRIDE), true);
      data.setUint32(header + 8, SOCKADDR_IN6_SIZE, true);
      data.setBigUint64(header + 16, base + BigInt(this.iovecOffset + i * IOVEC_SIZE), true);
      data.setBigUint64(header + 24, 1n, true); // one iovec per datagram
      // msg_control: used (msg_controllen set) only while UDP GRO is on.
      data.setBigUint64(header + 32, base + BigInt(this.controlOffset + i * CONTROL_STRIDE), true);
    }
  }

  /** Points iovec `i` at `view` (address recomputed only when the view object changes). */
  setPayload(i: number, view: Uint8Array, length: number): void {
    if (view.byteLength === 0) {
      throw new InvalidArgumentError(
        `slot ${i} has an empty or detached view (did the wasm memory grow?)`,
      );
    }
    const word = (this.iovecOffset + i * IOVEC_SIZE) >> 2;
    if (this.views[i] !== view) {
      // Slots rotate through a pool of views, so each view's address is remembered.
      const address = viewAddressWords(view);
      this.words[word] = address[0];
      this.words[word + 1] = address[1];
      this.views[i] = view;
    }
    this.words[word + 2] = length;
    this.words[word + 3] = 0;
  }
}
