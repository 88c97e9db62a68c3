/**
 * GRO towards the kernel: the TCP segments of one flow that one receive batch opened, in
 * sequence and with identical headers (but for lengths, ids and checksums), are written to the
 * TUN as one super-packet behind a GSO virtio-net header, so the kernel's TCP stack takes one
 * 64 KB packet instead of 45 small ones. Everything else is written as is, behind a plain
 * header, or, when the TUN takes USO, handed to `udp_coalescer.ts` if it is UDP. Within a flow
 * the order is kept (a segment that cannot join its flow's group writes the group first);
 * flows may pass each other, as they may on any link.
 */

import type { TunQueue } from "./packet_io.ts";
import {
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HEADER_SIZE,
  writeGsoVirtioNetHeader,
  writePlainVirtioNetHeader,
} from "./virtio_net_header.ts";
import type { ChecksumSum } from "./gso_splitter.ts";
import { type PlainTunWriter, UdpCoalescer } from "./udp_coalescer.ts";
import {
  buildSuperPacket,
  candidateIpHeaderBytes,
  checksumsVerify,
  moveMembers,
  pseudoHeaderSum,
  sameAddressesAndPorts,
  sameIpHeaders,
} from "./super_packet.ts";

/** Flows coalesced at once per batch; a further flow's segments are written as they come. */
export const MAX_GROUPS = 8;
/** Segments one super-packet may hold (the kernel's MAX_SKB_FRAGS-bound GRO limit, 64). */
const MAX_MEMBERS = 64;
/** Largest super-packet: IPv4's total length field. */
const MAX_SUPER_BYTES = 65_535;
/** Bytes of coalescing buffer a loop gives: the header and a 64 KB super-packet. */
export const COALESCE_BUFFER_BYTES = VIRTIO_NET_HEADER_SIZE + MAX_SUPER_BYTES;

const PROTOCOL_TCP = 6;
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;

/** Coalescing for one loop: `add` each opened packet, then `flush` at the end of the batch. */
export class TcpCoalescer implements PlainTunWriter {
  /** UDP datagrams' coalescing (USO), or null when the TUN does not take UDP super-packets. */
  readonly udp: UdpCoalescer | null;
  /** Super-packets written (two or more segments each). */
  superPackets = 0;
  /** Segments that went into super-packets. */
  coalesced = 0;
  // UdpCoalescer keeps its groups the same way on purpose (see the note there).
  private groups = 0;
  /** Per group: its queue, IP header bytes, TCP header bytes, segment size, next sequence. */
  private readonly queue = new Int32Array(MAX_GROUPS);
  private readonly ipBytes = new Int32Array(MAX_GROUPS);
  private readonly headerBytes = new Int32Array(MAX_GROUPS);
  private readonly segment = new Int32Array(MAX_GROUPS);
  private readonly nextSequence = new Uint32Array(MAX_GROUPS);
  private readonly total = new Int32Array(MAX_GROUPS);
  private readonly closed = new Uint8Array(MAX_GROUPS);
  private readonly push = new Uint8Array(MAX_GROUPS);
  private readonly members = new Int32Array(MAX_GROUPS);
  /** Per member (group × MAX_MEMBERS + k): the packet's address, length and batch slot. */
  private readonly memberAt = new Int32Array(MAX_GROUPS * MAX_MEMBERS);
  private readonly memberLength = new Int32Array(MAX_GROUPS * MAX_MEMBERS);
  private readonly memberSlot = new Int32Array(MAX_GROUPS * MAX_MEMBERS);
  private readonly bufferView: Uint8Array;

  /**
   * `views[slot]` is that batch slot's first packet with 10 bytes of room in front of it
   * (where its header goes; later datagrams of a GRO slot are copied to the buffer); `bufferAt` is COALESCE_BUFFER_BYTES of wasm memory for super-packets.
   * `udpSegmentation`: the TUN takes USO super-packets, so UDP datagrams are coalesced too.
   */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly sum: ChecksumSum,
    private readonly views: readonly Uint8Array[],
    private readonly queues: readonly TunQueue[],
    private readonly bufferAt: number,
    udpSegmentation = false,
  ) {
    this.bufferView = bytes.subarray(bufferAt, bufferAt + COALESCE_BUFFER_BYTES);
    this.udp = udpSegmentation ? new UdpCoalescer(bytes, sum, this, queues, bufferAt) : null;
  }

  /**
   * Takes the opened packet of batch slot `slot` (`length` bytes at `at`, the `view`'s 11th
   * byte) bound for `queue`: held for coalescing, or written now (behind a plain header).
   */
  add(slot: number, at: number, length: number, queue: number): void {
    const bytes = this.bytes;
    const ip = tcpIpHeaderBytes(bytes, at, length);
    if (ip === 0) {
      if (this.udp === null || !this.udp.add(slot, at, length, queue)) {
        this.writePlain(slot, at, length, queue);
      }
      return;
    }
    const tcp = at + ip;
    const tcpBytes = (bytes[tcp + 12] >>> 4) * 4;
    const payload = length - ip - tcpBytes;
    const flags = bytes[tcp + 13];
    const sequence = readUint32(bytes, tcp + 4);
    // Checksums are verified before joining, as a NIC's GRO does: a super-packet's are
    // recomputed, which would otherwise make a damaged segment look whole to the kernel.
    const coalescable = payload > 0 && (flags & ~TCP_PSH) === TCP_ACK &&
      checksumsVerify(this.sum, at, ip, length, PROTOCOL_TCP);
    for (let g = 0; g < this.groups; g++) {
      if (!this.sameFlow(g, at, ip)) continue;
      if (
        coalescable && this.closed[g] === 0 && sequence === this.nextSequence[g] &&
        payload <= this.segment[g] && ip + tcpBytes === this.headerBytes[g] &&
        this.total[g] + payload <= MAX_SUPER_BYTES && this.members[g] < MAX_MEMBERS &&
        this.sameHeaders(g, at, ip, tcpBytes)
      ) {
        this.append(g, slot, at, length, payload, flags);
        return;
      }
      // Same flow, cannot join: what is held goes first, then this one.
      this.writeGroup(g);
      this.removeGroup(g);
      break;
    }
    if (!coalescable || this.groups === MAX_GROUPS) {
      this.writePlain(slot, at, length, queue);
      return;
    }
    const g = this.groups++;
    this.queue[g] = queue;
    this.ipBytes[g] = ip;
    this.headerBytes[g] = ip + tcpBytes;
    this.segment[g] = payload;
    this.total[g] = 0;
    this.members[g] = 0;
    this.closed[g] = 0;
    this.push[g] = 0;
    this.nextSequence[g] = sequence;
    this.append(g, slot, at, length, payload, flags);
  }

  /** Writes every held group (the end of a batch). */
  flush(): void {
    for (let g = 0; g < this.groups; g++) this.writeGroup(g);
    this.groups = 0;
    if (this.udp !== null) this.udp.flush();
  }

  private append(
    g: number,
    slot: number,
    at: number,
    length: number,
    payload: number,
    flags: number,
  ): void {
    const k = g * MAX_MEMBERS + this.members[g]++;
    this.memberAt[k] = at;
    this.memberLength[k] = length;
    this.memberSlot[k] = slot;
    this.total[g] = (this.total[g] === 0 ? this.headerBytes[g] : this.total[g]) + payload;
    this.nextSequence[g] = (this.nextSequence[g] + payload) >>> 0;
    if ((flags & TCP_PSH) !== 0 || payload < this.segment[g]) this.closed[g] = 1;
    if ((flags & TCP_PSH) !== 0) this.push[g] = 1;
  }

  /** Group `g`'s first packet: same addresses, ports, and (checked in sameHeaders) the rest. */
  private sameFlow(g: number, at: number, ip: number): boolean {
    if (ip !== this.ipBytes[g]) return false;
    return sameAddressesAndPorts(this.bytes, this.memberAt[g * MAX_MEMBERS], at, ip);
  }

  /** IP fields that must match (TOS/class, TTL/hop limit, DF, next id), the ack, window, options. */
  private sameHeaders(g: number, at: number, ip: number, tcpBytes: number): boolean {
    const bytes = this.bytes;
    const first = this.memberAt[g * MAX_MEMBERS];
    if (!sameIpHeaders(bytes, first, at, ip, this.members[g])) return false;
    // The ack, and the data offset and window (as the kernel's GRO: its flag word but PSH).
    for (let i = 8; i < 12; i++) if (bytes[first + ip + i] !== bytes[at + ip + i]) return false;
    if (bytes[first + ip + 12] !== bytes[at + ip + 12]) return false;
    if (bytes[first + ip + 14] !== bytes[at + ip + 14]) return false;
    if (bytes[first + ip + 15] !== bytes[at + ip + 15]) return false;
    // The urgent pointer (meaningless without URG, but kept: segments split back exactly).
    if (bytes[first + ip + 18] !== bytes[at + ip + 18]) return false;
    if (bytes[first + ip + 19] !== bytes[at + ip + 19]) return false;
    for (let i = 20; i < tcpBytes; i++) {
      if (bytes[first + ip + i] !== bytes[at + ip + i]) return false;
    }
    return true;
  }

  private removeGroup(g: number): void {
    const last = --this.groups;
    if (g === last) return;
    this.queue[g] = this.queue[last];
    this.ipBytes[g] = this.ipBytes[last];
    this.headerBytes[g] = this.headerBytes[last];
    this.segment[g] = this.segment[last];
    this.nextSequence[g] = this.nextSequence[last];
    this.total[g] = this.total[last];
    this.closed[g] = this.closed[last];
    this.push[g] = this.push[last];
    this.members[g] = this.members[last];
    moveMembers(this.memberAt, this.memberLength, this.memberSlot, g, last, MAX_MEMBERS);
  }

  /** One segment as is; several as a super-packet built in the buffer. */
  private writeGroup(g: number): void {
    const base = g * MAX_MEMBERS;
    const count = this.members[g];
    if (count === 1) {
      this.writePlain(
        this.memberSlot[base],
        this.memberAt[base],
        this.memberLength[base],
        this.queue[g],
      );
      return;
    }
    const bytes = this.bytes;
    const out = this.bufferAt + VIRTIO_NET_HEADER_SIZE;
    const header = this.headerBytes[g];
    const ip = this.ipBytes[g];
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
    if (this.push[g] !== 0) bytes[out + ip + 13] |= TCP_PSH;
    // NEEDS_CSUM: the field holds the pseudo-header sum; the kernel adds the segment's.
    const pseudo = pseudoHeaderSum(this.sum, out, ip, PROTOCOL_TCP, l4Length);
    bytes[out + ip + 16] = pseudo >>> 8;
    bytes[out + ip + 17] = pseudo & 0xff;
    writeGsoVirtioNetHeader(
      bytes,
      this.bufferAt,
      ip === 20 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
      header,
      this.segment[g],
      ip,
      16,
    );
    this.superPackets++;
    this.coalesced += count;
    try {
      this.queues[this.queue[g]].write(this.bufferView, total + VIRTIO_NET_HEADER_SIZE);
    } catch {
      // A super-packet the kernel refuses is dropped as its segments would be; TCP resends.
    }
  }

  /** Writes one opened packet as is, behind a plain virtio-net header. */
  writePlain(slot: number, at: number, length: number, queue: number): void {
    let view = this.views[slot];
    if (at !== view.byteOffset + VIRTIO_NET_HEADER_SIZE) {
      // Not the slot's first datagram (UDP GRO): written from the buffer, one copy.
      this.bytes.copyWithin(this.bufferAt + VIRTIO_NET_HEADER_SIZE, at, at + length);
      view = this.bufferView;
    }
    writePlainVirtioNetHeader(view, 0);
    try {
      this.queues[queue].write(view, length + VIRTIO_NET_HEADER_SIZE);
    } catch {
      // A packet the kernel refuses is dropped, as any router would.
    }
  }
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/**
 * The IP header length of a coalescing candidate: TCP over IPv4 without options or fragments,
 * or over IPv6 without extension headers, whose length fields agree with `length`; else 0.
 */
function tcpIpHeaderBytes(bytes: Uint8Array, at: number, length: number): number {
  const ip = candidateIpHeaderBytes(bytes, at, length, PROTOCOL_TCP, 20);
  if (ip === 0) return 0;
  const tcpBytes = (bytes[at + ip + 12] >>> 4) * 4;
  return tcpBytes < 20 || ip + tcpBytes > length ? 0 : ip;
}
