/**
 * USO towards the kernel: the UDP datagrams of one flow that one receive batch opened, of one
 * size (the last may be shorter) and with identical headers but for lengths, ids and checksums,
 * are written to the TUN as one super-packet behind a GSO_UDP_L4 virtio-net header, so the
 * kernel takes one write and one skb for up to 64 datagrams and cuts them apart again on its
 * way to the socket (or the egress device). Only when the TUN offers USO (Linux 6.2+: the same
 * kernels accept such writes). Within a flow the order is kept (a datagram that cannot join its
 * flow's group writes the group first); flows may pass each other, as they may on any link.
 */

import type { TunQueue } from "./packet_io.ts";
import {
  VIRTIO_NET_HDR_GSO_UDP_L4,
  VIRTIO_NET_HEADER_SIZE,
  writeGsoVirtioNetHeader,
} from "./virtio_net_header.ts";
import type { ChecksumSum } from "./gso_splitter.ts";
import {
  buildSuperPacket,
  candidateIpHeaderBytes,
  checksumsVerify,
  moveMembers,
  pseudoHeaderSum,
  sameAddressesAndPorts,
  sameIpHeaders,
} from "./super_packet.ts";

/** Flows coalesced at once per batch; a further flow's datagrams are written as they come. */
export const MAX_UDP_GROUPS = 8;
/** Datagrams one super-packet may hold (the kernel's UDP_MAX_SEGMENTS on older kernels). */
export const MAX_UDP_MEMBERS = 64;
/** Largest super-packet: IPv4's total length and UDP's length field. */
const MAX_SUPER_BYTES = 65_535;
const UDP_HEADER_BYTES = 8;
const IPPROTO_UDP = 17;

/** Writes one opened packet as is, behind a plain virtio-net header (the TCP coalescer does). */
export interface PlainTunWriter {
  /** Writes the `length` bytes at `at` (batch slot `slot`) to TUN queue `queue`. */
  writePlain(slot: number, at: number, length: number, queue: number): void;
}

/** UDP coalescing for one loop: `add` each opened UDP packet, then `flush` at the batch's end. */
export class UdpCoalescer {
  /** Super-packets written (two or more datagrams each). */
  superPackets = 0;
  /** Datagrams that went into super-packets. */
  coalesced = 0;
  /**
   * Why the TUN refused a super-packet (its datagrams then went one by one), or null. Once set,
   * nothing more is coalesced: a kernel that offers USO but refuses our writes keeps refusing.
   */
  refusal: string | null = null;
  // The group bookkeeping (these arrays, add's join-or-flush loop, removeGroup) mirrors
  // TcpCoalescer's on purpose: TCP keeps more per group (sequence, push, header bytes), and a
  // shared base class or per-group objects would cost a polymorphic call or an allocation per
  // packet; the byte-level logic both use lives in super_packet.ts.
  private groups = 0;
  /** Per group: its queue, IP header bytes, datagram payload size, bytes so far, state. */
  private readonly queue = new Int32Array(MAX_UDP_GROUPS);
  private readonly ipBytes = new Int32Array(MAX_UDP_GROUPS);
  private readonly segment = new Int32Array(MAX_UDP_GROUPS);
  private readonly total = new Int32Array(MAX_UDP_GROUPS);
  private readonly closed = new Uint8Array(MAX_UDP_GROUPS);
  private readonly members = new Int32Array(MAX_UDP_GROUPS);
  /** Per member (group × MAX_UDP_MEMBERS + k): the packet's address, length and batch slot. */
  private readonly memberAt = new Int32Array(MAX_UDP_GROUPS * MAX_UDP_MEMBERS);
  private readonly memberLength = new Int32Array(MAX_UDP_GROUPS * MAX_UDP_MEMBERS);
  private readonly memberSlot = new Int32Array(MAX_UDP_GROUPS * MAX_UDP_MEMBERS);
  private readonly bufferView: Uint8Array;

  /**
   * `bufferAt` is the header and 64 KB of wasm memory where super-packets are built (shared
   * with the TCP coalescer: each builds and writes before returning); `plain` writes the rest.
   */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly sum: ChecksumSum,
    private readonly plain: PlainTunWriter,
    private readonly queues: readonly TunQueue[],
    private readonly bufferAt: number,
  ) {
    this.bufferView = bytes.subarray(bufferAt, bufferAt + VIRTIO_NET_HEADER_SIZE + MAX_SUPER_BYTES);
  }

  /**
   * Takes the opened packet of batch slot `slot` (`length` bytes at `at`) bound for `queue`:
   * held for coalescing or written now. False, untouched, when it is not a UDP datagram.
   */
  add(slot: number, at: number, length: number, queue: number): boolean {
    const bytes = this.bytes;
    const ip = udpIpHeaderBytes(bytes, at, length);
    if (ip === 0 || this.refusal !== null) return false;
    const payload = length - ip - UDP_HEADER_BYTES;
    // A zero checksum (IPv4: none) would come out computed, a bad one (IP or UDP) valid: such
    // datagrams go as they are. The AEAD vouches for the bytes, not for the sender's stack.
    const coalescable = payload > 0 &&
      (bytes[at + ip + 6] | bytes[at + ip + 7]) !== 0 &&
      checksumsVerify(this.sum, at, ip, length, IPPROTO_UDP);
    for (let g = 0; g < this.groups; g++) {
      if (!this.sameFlow(g, at, ip)) continue;
      if (
        coalescable && this.closed[g] === 0 && payload <= this.segment[g] &&
        this.total[g] + payload <= MAX_SUPER_BYTES && this.members[g] < MAX_UDP_MEMBERS &&
        this.sameHeaders(g, at, ip)
      ) {
        this.append(g, slot, at, length, payload);
        return true;
      }
      // Same flow, cannot join: what is held goes first, then this one.
      this.writeGroup(g);
      this.removeGroup(g);
      break;
    }
    if (!coalescable || this.groups === MAX_UDP_GROUPS) {
      this.plain.writePlain(slot, at, length, queue);
      return true;
    }
    const g = this.groups++;
    this.queue[g] = queue;
    this.ipBytes[g] = ip;
    this.segment[g] = payload;
    this.total[g] = ip + UDP_HEADER_BYTES;
    this.members[g] = 0;
    this.closed[g] = 0;
    this.append(g, slot, at, length, payload);
    return true;
  }

  /** Writes every held group (the end of a batch). */
  flush(): void {
    for (let g = 0; g < this.groups; g++) this.writeGroup(g);
    this.groups = 0;
  }

  private append(g: number, slot: number, at: number, length: number, payload: number): void {
    const k = g * MAX_UDP_MEMBERS + this.members[g]++;
    this.memberAt[k] = at;
    this.memberLength[k] = length;
    this.memberSlot[k] = slot;
    this.total[g] += payload;
    // A shorter datagram can only be a super-packet's last segment.
    if (payload < this.segment[g]) this.closed[g] = 1;
  }

  /** Group `g`'s first packet has the same addresses and ports. */
  private sameFlow(g: number, at: number, ip: number): boolean {
    if (ip !== this.ipBytes[g]) return false;
    return sameAddressesAndPorts(this.bytes, this.memberAt[g * MAX_UDP_MEMBERS], at, ip);
  }

  /** The IP fields the kernel copies to every segment match, and IPv4 ids follow on. */
  private sameHeaders(g: number, at: number, ip: number): boolean {
    return sameIpHeaders(this.bytes, this.memberAt[g * MAX_UDP_MEMBERS], at, ip, this.members[g]);
  }

  private removeGroup(g: number): void {
    const last = --this.groups;
    if (g === last) return;
    this.queue[g] = this.queue[last];
    this.ipBytes[g] = this.ipBytes[last];
    this.segment[g] = this.segment[last];
    this.total[g] = this.total[last];
    this.closed[g] = this.closed[last];
    this.members[g] = this.members[last];
    moveMembers(this.memberAt, this.memberLength, this.memberSlot, g, last, MAX_UDP_MEMBERS);
  }

  /** One datagram as is; several as a super-packet built in the buffer. */
  private writeGroup(g: number): void {
    const base = g * MAX_UDP_MEMBERS;
    const count = this.members[g];
    if (count === 1 || this.refusal !== null) {
      this.writeMembers(g);
      return;
    }
    const bytes = this.bytes;
    const out = this.bufferAt + VIRTIO_NET_HEADER_SIZE;
    const ip = this.ipBytes[g];
    const header = ip + UDP_HEADER_BYTES;
    const total = buildSuperPacket(
      bytes,
      this.sum,
      out,
      this.memberAt,
      this.memberLength,
      base,
      count,
      header,
      ip,
    );
    const l4Length = total - ip;
    // The kernel rewrites each segment's length and adjusts the checksum from this one.
    bytes[out + ip + 4] = l4Length >>> 8;
    bytes[out + ip + 5] = l4Length & 0xff;
    // NEEDS_CSUM: the field holds the pseudo-header sum; the kernel adds each segment's.
    const pseudo = pseudoHeaderSum(this.sum, out, ip, IPPROTO_UDP, l4Length);
    bytes[out + ip + 6] = pseudo >>> 8;
    bytes[out + ip + 7] = pseudo & 0xff;
    writeGsoVirtioNetHeader(
      bytes,
      this.bufferAt,
      VIRTIO_NET_HDR_GSO_UDP_L4,
      header,
      this.segment[g],
      ip,
      6,
    );
    try {
      this.queues[this.queue[g]].write(this.bufferView, total + VIRTIO_NET_HEADER_SIZE);
      this.superPackets++;
      this.coalesced += count;
    } catch (error) {
      // The datagrams are still in their slots: they go one by one, and so do all later ones.
      this.refusal = error instanceof Error ? error.message : String(error);
      this.writeMembers(g);
    }
  }

  /** Group `g`'s datagrams one by one, as they are. */
  private writeMembers(g: number): void {
    const base = g * MAX_UDP_MEMBERS;
    for (let k = 0; k < this.members[g]; k++) {
      this.plain.writePlain(
        this.memberSlot[base + k],
        this.memberAt[base + k],
        this.memberLength[base + k],
        this.queue[g],
      );
    }
  }
}

/**
 * The IP header length of a UDP datagram that may be coalesced: over IPv4 without options or
 * fragments, or over IPv6 without extension headers, with IP and UDP lengths that agree with
 * `length`; else 0.
 */
function udpIpHeaderBytes(bytes: Uint8Array, at: number, length: number): number {
  const ip = candidateIpHeaderBytes(bytes, at, length, IPPROTO_UDP, UDP_HEADER_BYTES);
  if (ip === 0) return 0;
  return ((bytes[at + ip + 4] << 8) | bytes[at + ip + 5]) === length - ip ? ip : 0;
}
