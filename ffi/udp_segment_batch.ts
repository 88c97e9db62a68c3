/**
 * UDP GSO sends (UDP_SEGMENT, Linux 4.18+): consecutive datagrams of a batch that go to the
 * same peer with the same size (the last may be shorter) become one message whose iovecs are
 * the datagrams' views and whose cmsg names the segment size; the kernel cuts them apart below
 * the UDP stack, so a batch of 45 datagrams to one peer crosses the stack once. Layout per
 * batch, allocated once: mmsghdr[n] | iovec[n] | sockaddr_in6[n] | cmsg[n] (x86_64).
 */

import { InvalidArgumentError } from "./errors.ts";
import { addressOf } from "./libc.ts";
import { SOCKADDR_IN6_SIZE, writeSockaddrIn6 } from "./socket_address.ts";

/** SOL_UDP, the level of the UDP options. */
export const SOL_UDP = 17;
/** UDP_SEGMENT: the segment size of a GSO send (sockopt or cmsg). */
export const UDP_SEGMENT = 103;
/** UDP_GRO: receive same-size datagrams of one sender as one buffer (cmsg: the size). */
export const UDP_GRO = 104;
/** Segments one GSO message may hold (the kernel's UDP_MAX_SEGMENTS on older kernels). */
export const MAX_GSO_SEGMENTS = 64;
/** Bytes one GSO message may carry: a 64 KB IP packet less the IPv6 and UDP headers. */
export const MAX_GSO_BYTES = 65_535 - 48;

const MMSGHDR_SIZE = 64;
const IOVEC_SIZE = 16;
const SOCKADDR_STRIDE = 32;
/** CMSG_SPACE(sizeof(u16)): a 16-byte cmsghdr and the u16, padded to 8. */
const CMSG_SPACE = 24;
const CMSG_LEN = 18;

/** A datagram to send: its view, length and peer (DatagramSlot fits). */
export interface SegmentSource {
  view: Uint8Array;
  length: number;
  address: Uint8Array;
  port: number;
}

/**
 * Raw address (low, high 32 bits) of each payload view seen so far. A view's address is fixed
 * for its lifetime (its buffer cannot move; a grown wasm memory detaches it instead, which the
 * empty-view check catches), and the WeakMap lets dropped views be collected.
 */
const VIEW_ADDRESSES = new WeakMap<Uint8Array, Uint32Array>();

/** The view's address as two 32-bit words, computed once per view object. */
export function viewAddressWords(view: Uint8Array): Uint32Array {
  let address = VIEW_ADDRESSES.get(view);
  if (!address) {
    // UnsafePointer.of + BigInt math costs more than the rest of the per-packet work.
    const raw = addressOf(view);
    address = new Uint32Array([Number(raw & 0xffffffffn), Number(raw >> 32n)]);
    VIEW_ADDRESSES.set(view, address);
  }
  return address;
}

/** The message headers of GSO sends, rebuilt per call from the caller's slots. */
export class SegmentedSendArea {
  /** mmsghdr[n] | iovec[n] | sockaddr[n] | cmsg[n]. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Slots carried by each message of the last `fill`. */
  readonly slotsPerMessage: Uint32Array;
  private readonly words: Uint32Array;
  private readonly iovecOffset: number;
  private readonly nameOffset: number;
  private readonly base: number;

  constructor(readonly capacity: number) {
    this.bytes = new Uint8Array(
      capacity * (MMSGHDR_SIZE + IOVEC_SIZE + SOCKADDR_STRIDE + CMSG_SPACE),
    );
    this.words = new Uint32Array(this.bytes.buffer);
    this.slotsPerMessage = new Uint32Array(capacity);
    this.iovecOffset = capacity * MMSGHDR_SIZE;
    this.nameOffset = this.iovecOffset + capacity * IOVEC_SIZE;
    const cmsgOffset = this.nameOffset + capacity * SOCKADDR_STRIDE;
    this.base = Number(addressOf(this.bytes));
    const data = new DataView(this.bytes.buffer);
    for (let i = 0; i < capacity; i++) {
      const header = i * MMSGHDR_SIZE;
      this.setPointer(header, this.nameOffset + i * SOCKADDR_STRIDE);
      data.setUint32(header + 8, SOCKADDR_IN6_SIZE, true);
      this.setPointer(header + 32, cmsgOffset + i * CMSG_SPACE);
      const cmsg = cmsgOffset + i * CMSG_SPACE;
      data.setUint32(cmsg, CMSG_LEN, true); // cmsg_len (u64, high half zero)
      data.setInt32(cmsg + 8, SOL_UDP, true);
      data.setInt32(cmsg + 12, UDP_SEGMENT, true);
    }
  }

  /**
   * Builds messages for `slots[from..count)` (at most `capacity` slots); how many messages.
   * A message takes following slots while they go to the same peer with the first one's
   * length (the last may be shorter), within MAX_GSO_SEGMENTS and MAX_GSO_BYTES.
   */
  fill(slots: readonly SegmentSource[], from: number, count: number): number {
    const words = this.words;
    const end = Math.min(count, from + this.capacity);
    let messages = 0;
    let i = from;
    while (i < end) {
      const first = slots[i];
      const size = first.length;
      let k = 1;
      let bytes = size;
      while (i + k < end && k < MAX_GSO_SEGMENTS) {
        const next = slots[i + k];
        if (
          next.port !== first.port || next.length > size || next.length === 0 ||
          bytes + next.length > MAX_GSO_BYTES || !sameAddress(next.address, first.address)
        ) {
          break;
        }
        k++;
        bytes += next.length;
        if (next.length < size) break; // a shorter datagram ends the message
      }
      for (let j = 0; j < k; j++) {
        const slot = slots[i + j];
        if (slot.length > slot.view.byteLength || slot.length < 0) {
          throw new InvalidArgumentError(
            `slot ${i + j}: length ${slot.length} is not within its view (${slot.view.byteLength})`,
          );
        }
        const address = viewAddressWords(slot.view);
        const word = (this.iovecOffset + (i - from + j) * IOVEC_SIZE) >> 2;
        words[word] = address[0];
        words[word + 1] = address[1];
        words[word + 2] = slot.length;
        words[word + 3] = 0;
      }
      const header = messages * MMSGHDR_SIZE;
      this.setPointer(header + 16, this.iovecOffset + (i - from) * IOVEC_SIZE);
      words[(header + 24) >> 2] = k;
      words[(header + 28) >> 2] = 0;
      words[(header + 40) >> 2] = k > 1 ? CMSG_SPACE : 0;
      words[(header + 44) >> 2] = 0;
      if (k > 1) {
        const cmsg = this.nameOffset + this.capacity * SOCKADDR_STRIDE + messages * CMSG_SPACE;
        this.bytes[cmsg + 16] = size & 0xff;
        this.bytes[cmsg + 17] = size >>> 8;
      }
      writeSockaddrIn6(
        this.bytes,
        this.nameOffset + messages * SOCKADDR_STRIDE,
        first.address,
        first.port,
      );
      this.slotsPerMessage[messages++] = k;
      i += k;
    }
    return messages;
  }

  private setPointer(at: number, offset: number): void {
    const address = this.base + offset;
    this.words[at >> 2] = address % 0x1_0000_0000;
    this.words[(at >> 2) + 1] = Math.floor(address / 0x1_0000_0000);
  }
}

function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
