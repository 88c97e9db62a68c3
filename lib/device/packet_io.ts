/**
 * What a data path needs from its packet I/O: a TUN queue and a UDP socket. `ffi/tun.ts`'s
 * TunDevice and `ffi/udp_socket.ts`'s UdpSocket fit these shapes structurally (ffi imports
 * nothing from lib/); in-process tests hand in fakes. Readiness is not part of the seam: the
 * caller says which side poll found readable, and both reads return 0 when nothing is queued.
 */

/**
 * One datagram of a batch, reused across calls: a payload view, its length and its peer. The
 * ffi socket's slot is the one definition (ffi imports nothing from lib/; lib may import ffi).
 */
import { DatagramSlot } from "../../ffi/udp_socket.ts";

/** The slot class under the seam's name. */
export const PacketSlot = DatagramSlot;
/** The slot type under the seam's name. */
export type PacketSlot = DatagramSlot;

/** One queue of a TUN interface, non-blocking. */
export interface TunQueue {
  /** Reads one packet into `view`; its length, or 0 when nothing is queued. */
  read(view: Uint8Array): number;
  /** Writes the first `length` bytes of `view` as one packet; 0 when the queue is full. */
  write(view: Uint8Array, length: number): number;
}

/** One UDP socket, non-blocking when asked with a zero timeout. */
export interface DatagramSocket {
  /** Sends `length` bytes of `view` to `address` (4 or 16 bytes) and `port`. */
  sendTo(
    view: Uint8Array,
    address: Uint8Array,
    port: number,
    length: number,
    timeoutMs: number,
  ): number;
  /**
   * Sends `slots[0..count)`, waiting up to `timeoutMs` for buffer space; how many were taken.
   * A datagram refused on its own is skipped; only a broken socket throws.
   */
  sendBatch(slots: readonly PacketSlot[], count: number, timeoutMs: number): number;
  /**
   * Receives into the slots (length, address as 16 bytes, port, truncated), waiting up to
   * `timeoutMs` for the first; how many arrived (0 when none).
   */
  receiveBatch(slots: readonly PacketSlot[], timeoutMs: number): number;
  /**
   * A relay edge (lib/relay/relay_socket.ts) leaves slots packed by UDP GRO (`segmentSize` > 0)
   * as received; the data path hands it each segment, `view[at, at + length)`, that starts with
   * the relay magic. Returns the header's length when it is a relayed datagram for us (its
   * virtual source written into `virtualAddress`, 16 bytes), or -1 when the edge consumed it
   * (queued to forward, or dropped).
   */
  unwrapFrame?(
    view: Uint8Array,
    at: number,
    length: number,
    fromIp: Uint8Array,
    fromPort: number,
    virtualAddress: Uint8Array,
  ): number;
  /**
   * A relay edge sends the frames it queued to forward while a batch was received and walked
   * (they lie in the receive slots); the data path calls it once per batch, after the walk.
   */
  flushRelayed?(): void;
}
