/**
 * Cuts what a vnet TUN read returns (a virtio-net header, then a packet or a GSO super-packet
 * of up to 64 KB) into MTU-sized IPv4/IPv6 packets, in wasm memory and without allocating:
 * each segment gets the super-packet's headers with its own lengths, IPv4 id, TCP sequence
 * number, flags and checksums (summed by the wasm core). A header or packet that does not hold
 * together is refused whole and counted, never half-split: the kernel's input is not trusted
 * to be well formed.
 */

import {
  readVirtioNetHeader,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP_L4,
  VIRTIO_NET_HEADER_SIZE,
  type VirtioNetHeader,
} from "./virtio_net_header.ts";

/** The folded 16-bit ones' complement sum of `length` bytes at `at` (the wasm core's). */
export type ChecksumSum = (at: number, length: number) => number;

const PROTOCOL_TCP = 6;
const PROTOCOL_UDP = 17;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/** Folds a sum of 16-bit words to 16 bits. */
function fold(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
}

/** Super-packet splitting for one worker: `begin` a read, then `next` until it returns 0. */
export class GsoSplitter {
  /** Reads refused as malformed (bad header, bad packet, segment larger than the room). */
  malformed = 0;
  /** Super-packets split (GSO reads with more than the header). */
  superPackets = 0;
  private readonly header: VirtioNetHeader = {
    flags: 0,
    gsoType: 0,
    headerLength: 0,
    gsoSize: 0,
    checksumStart: 0,
    checksumOffset: 0,
  };
  private packetAt = 0;
  private packetLength = 0;
  /** 0 when done; else segments still to write. */
  private remaining = 0;
  private index = 0;
  private ipv6 = false;
  private l4At = 0;
  private headerBytes = 0;
  private segmentPayload = 0;
  private protocol = 0;
  private firstSequence = 0;
  private firstId = 0;
  private tcpFlags = 0;
  private ecn = false;
  /** A single packet: copied as is, its partial checksum finished when asked. */
  private plain = false;

  constructor(private readonly bytes: Uint8Array, private readonly sum: ChecksumSum) {}

  /**
   * Takes a read of `length` bytes at `at` (virtio-net header first) whose segments may each be
   * at most `room` bytes. False when it is malformed (counted): nothing is to be sent from it.
   */
  begin(at: number, length: number, room: number): boolean {
    this.remaining = 0;
    if (!this.parse(at, length, room)) {
      this.malformed++;
      return false;
    }
    return true;
  }

  /** Writes the next segment at `out`; its length, or 0 when the read is used up. */
  next(out: number): number {
    if (this.remaining === 0) return 0;
    const bytes = this.bytes;
    if (this.plain) {
      this.remaining = 0;
      bytes.copyWithin(out, this.packetAt, this.packetAt + this.packetLength);
      if ((this.header.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) this.finishPartial(out);
      return this.packetLength;
    }
    const i = this.index++;
    this.remaining--;
    const payloadFrom = this.headerBytes + i * this.segmentPayload;
    const payload = Math.min(this.segmentPayload, this.packetLength - payloadFrom);
    const length = this.headerBytes + payload;
    const packetAt = this.packetAt;
    bytes.copyWithin(out, packetAt, packetAt + this.headerBytes);
    bytes.copyWithin(
      out + this.headerBytes,
      packetAt + payloadFrom,
      packetAt + payloadFrom + payload,
    );
    const l4 = out + this.l4At;
    const l4Length = length - this.l4At;
    if (this.ipv6) {
      bytes[out + 4] = l4Length >>> 8;
      bytes[out + 5] = l4Length & 0xff;
    } else {
      bytes[out + 2] = length >>> 8;
      bytes[out + 3] = length & 0xff;
      const id = (this.firstId + i) & 0xffff;
      bytes[out + 4] = id >>> 8;
      bytes[out + 5] = id & 0xff;
      bytes[out + 10] = 0;
      bytes[out + 11] = 0;
      const headerSum = ~this.sum(out, this.l4At) & 0xffff;
      bytes[out + 10] = headerSum >>> 8;
      bytes[out + 11] = headerSum & 0xff;
    }
    let checksumAt: number;
    if (this.protocol === PROTOCOL_TCP) {
      const sequence = (this.firstSequence + i * this.segmentPayload) >>> 0;
      bytes[l4 + 4] = sequence >>> 24;
      bytes[l4 + 5] = (sequence >>> 16) & 0xff;
      bytes[l4 + 6] = (sequence >>> 8) & 0xff;
      bytes[l4 + 7] = sequence & 0xff;
      let flags = this.tcpFlags;
      if (this.remaining !== 0) flags &= ~(TCP_FIN | TCP_PSH);
      if (i !== 0 && this.ecn) flags &= ~TCP_CWR;
      bytes[l4 + 13] = flags;
      checksumAt = l4 + 16;
    } else {
      bytes[l4 + 4] = l4Length >>> 8;
      bytes[l4 + 5] = l4Length & 0xff;
      checksumAt = l4 + 6;
    }
    bytes[checksumAt] = 0;
    bytes[checksumAt + 1] = 0;
    let checksum = ~fold(this.pseudoHeaderSum(out, l4Length) + this.sum(l4, l4Length)) & 0xffff;
    if (checksum === 0 && this.protocol === PROTOCOL_UDP) checksum = 0xffff;
    bytes[checksumAt] = checksum >>> 8;
    bytes[checksumAt + 1] = checksum & 0xff;
    return length;
  }

  /** Checks the header against the packet; sets up the segments. */
  private parse(at: number, length: number, room: number): boolean {
    if (length < VIRTIO_NET_HEADER_SIZE + 20) return false;
    const bytes = this.bytes;
    const header = this.header;
    readVirtioNetHeader(bytes, at, header);
    const packetAt = at + VIRTIO_NET_HEADER_SIZE;
    const packetLength = length - VIRTIO_NET_HEADER_SIZE;
    this.packetAt = packetAt;
    this.packetLength = packetLength;
    const version = bytes[packetAt] >>> 4;
    if (version === 4) {
      const ihl = (bytes[packetAt] & 0x0f) * 4;
      if (ihl < 20 || ihl > packetLength) return false;
      this.ipv6 = false;
      this.l4At = ihl;
      this.protocol = bytes[packetAt + 9];
      this.firstId = (bytes[packetAt + 4] << 8) | bytes[packetAt + 5];
    } else if (version === 6) {
      if (packetLength < 40) return false;
      this.ipv6 = true;
      this.l4At = 40;
      this.protocol = bytes[packetAt + 6];
    } else {
      return false;
    }
    const gsoType = header.gsoType & ~VIRTIO_NET_HDR_GSO_ECN;
    if (gsoType === VIRTIO_NET_HDR_GSO_NONE) return this.parsePlain(room);
    if (
      (header.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) === 0 || header.checksumStart !== this.l4At ||
      header.gsoSize === 0
    ) {
      return false;
    }
    if (gsoType === VIRTIO_NET_HDR_GSO_TCPV4 || gsoType === VIRTIO_NET_HDR_GSO_TCPV6) {
      if (this.protocol !== PROTOCOL_TCP) return false;
      if ((gsoType === VIRTIO_NET_HDR_GSO_TCPV6) !== this.ipv6) return false;
      if (this.l4At + 20 > packetLength) return false;
      const tcpHeader = (bytes[packetAt + this.l4At + 12] >>> 4) * 4;
      if (tcpHeader < 20) return false;
      this.headerBytes = this.l4At + tcpHeader;
      const l4 = packetAt + this.l4At;
      this.firstSequence = ((bytes[l4 + 4] << 24) | (bytes[l4 + 5] << 16) |
        (bytes[l4 + 6] << 8) | bytes[l4 + 7]) >>> 0;
      this.tcpFlags = bytes[l4 + 13];
      this.ecn = (header.gsoType & VIRTIO_NET_HDR_GSO_ECN) !== 0;
    } else if (gsoType === VIRTIO_NET_HDR_GSO_UDP_L4) {
      if (this.protocol !== PROTOCOL_UDP) return false;
      this.headerBytes = this.l4At + 8;
    } else {
      return false;
    }
    const payload = packetLength - this.headerBytes;
    if (payload <= 0 || this.headerBytes + header.gsoSize > room) {
      // A super-packet whose segments would not fit the MTU, or with nothing to carry.
      return payload === 0 && this.headerBytes <= room ? this.asPlain() : false;
    }
    this.plain = false;
    this.segmentPayload = header.gsoSize;
    this.index = 0;
    this.remaining = Math.ceil(payload / header.gsoSize);
    this.superPackets++;
    return true;
  }

  /** A GSO header on a bare header-only packet (a pure ACK): sent as one packet. */
  private asPlain(): boolean {
    this.plain = true;
    this.remaining = 1;
    return true;
  }

  /** An ordinary packet: it must fit, and a partial checksum must lie inside it. */
  private parsePlain(room: number): boolean {
    const header = this.header;
    if (this.packetLength > room) return false;
    if ((header.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) {
      if (
        header.checksumStart < this.l4At ||
        header.checksumStart + header.checksumOffset + 2 > this.packetLength
      ) {
        return false;
      }
    }
    return this.asPlain();
  }

  /** Finishes a partial checksum: the field holds the pseudo-header sum the kernel left. */
  private finishPartial(out: number): void {
    const bytes = this.bytes;
    const start = this.header.checksumStart;
    const field = out + start + this.header.checksumOffset;
    let checksum = ~this.sum(out + start, this.packetLength - start) & 0xffff;
    if (checksum === 0 && this.protocol === PROTOCOL_UDP) checksum = 0xffff;
    bytes[field] = checksum >>> 8;
    bytes[field + 1] = checksum & 0xff;
  }

  /** The pseudo-header's sum for a segment at `out` with `l4Length` bytes of TCP/UDP. */
  private pseudoHeaderSum(out: number, l4Length: number): number {
    return this.ipv6
      ? this.sum(out + 8, 32) + l4Length + this.protocol
      : this.sum(out + 12, 8) + l4Length + this.protocol;
  }
}
