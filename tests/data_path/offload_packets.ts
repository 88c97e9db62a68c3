/**
 * Super-packets as a vnet TUN hands them out (virtio-net header, then TCP or UDP over IPv4 or
 * IPv6 with a partial checksum), and reference checks of the segments made from them.
 */

import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP_L4,
  VIRTIO_NET_HEADER_SIZE,
  writeGsoVirtioNetHeader,
} from "../../lib/device/virtio_net_header.ts";

/** RFC 1071 over `bytes`, in plain TS (the reference the wasm sum is checked against). */
export function referenceSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2 === 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** True when the IPv4 header checksum and the TCP/UDP checksum of `packet` verify. */
export function checksumsValid(packet: Uint8Array): boolean {
  const v6 = packet[0] >>> 4 === 6;
  const l4 = v6 ? 40 : (packet[0] & 0x0f) * 4;
  if (!v6 && referenceSum(packet.subarray(0, l4)) !== 0xffff) return false;
  const protocol = v6 ? packet[6] : packet[9];
  const l4Length = packet.length - l4;
  const pseudo = referenceSum(v6 ? packet.subarray(8, 40) : packet.subarray(12, 20)) +
    protocol + l4Length;
  return referenceSum(packet.subarray(l4), pseudo) === 0xffff;
}

/** What a super-packet is made of. */
export interface SuperPacketOptions {
  v6?: boolean;
  udp?: boolean;
  payload: number;
  gsoSize: number;
  /** GSO_NONE with NEEDS_CSUM: one packet with a partial checksum. */
  plain?: boolean;
  sequence?: number;
  tcpFlags?: number;
  seed?: number;
}

/** The payload byte at `i` of a super-packet made with `seed`. */
export function payloadByte(seed: number, i: number): number {
  return (seed * 131 + i * 7 + (i >>> 8)) & 0xff;
}

/** A vnet TUN read: virtio-net header then a TCP/UDP super-packet with a partial checksum. */
export function superPacket(options: SuperPacketOptions): Uint8Array {
  const v6 = options.v6 ?? false;
  const udp = options.udp ?? false;
  const ip = v6 ? 40 : 20;
  const l4Header = udp ? 8 : 20;
  const length = ip + l4Header + options.payload;
  const out = new Uint8Array(VIRTIO_NET_HEADER_SIZE + length);
  const p = out.subarray(VIRTIO_NET_HEADER_SIZE);
  const view = new DataView(p.buffer, p.byteOffset);
  const protocol = udp ? 17 : 6;
  if (v6) {
    p[0] = 0x60;
    view.setUint16(4, length - 40);
    p[6] = protocol;
    p[7] = 64;
    p.set([0xfd, 0x99, 0x6d, 0x67, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
    p.set([0xfd, 0x99, 0x6d, 0x67, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 24);
  } else {
    p[0] = 0x45;
    view.setUint16(2, length);
    view.setUint16(4, 0x1234);
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = protocol;
    p.set([10, 99, 0, 1], 12);
    p.set([10, 99, 0, 2], 16);
    view.setUint16(10, (~referenceSum(p.subarray(0, 20))) & 0xffff);
  }
  view.setUint16(ip, 40000);
  view.setUint16(ip + 2, 5201);
  let checksumOffset: number;
  if (udp) {
    view.setUint16(ip + 4, length - ip);
    checksumOffset = 6;
  } else {
    view.setUint32(ip + 4, options.sequence ?? 1000);
    view.setUint32(ip + 8, 77);
    p[ip + 12] = 5 << 4;
    p[ip + 13] = options.tcpFlags ?? 0x18; // PSH|ACK
    view.setUint16(ip + 14, 65535);
    checksumOffset = 16;
  }
  const seed = options.seed ?? 1;
  for (let i = 0; i < options.payload; i++) p[ip + l4Header + i] = payloadByte(seed, i);
  // The kernel leaves the pseudo-header sum (not inverted) in the checksum field.
  const pseudo = referenceSum(v6 ? p.subarray(8, 40) : p.subarray(12, 20)) + protocol +
    (length - ip);
  view.setUint16(ip + checksumOffset, referenceSum(new Uint8Array(0), pseudo));
  const gsoType = options.plain
    ? VIRTIO_NET_HDR_GSO_NONE
    : udp
    ? VIRTIO_NET_HDR_GSO_UDP_L4
    : v6
    ? VIRTIO_NET_HDR_GSO_TCPV6
    : VIRTIO_NET_HDR_GSO_TCPV4;
  writeGsoVirtioNetHeader(out, 0, gsoType, ip + l4Header, options.gsoSize, ip, checksumOffset);
  out[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  return out;
}
