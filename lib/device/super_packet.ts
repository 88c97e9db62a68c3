/**
 * What the TCP and UDP coalescers share: which packets are candidates, the flow and IP-header
 * matches that let a packet join a group, the checksums it must pass before it may join a
 * super-packet (its own are recomputed by the kernel, which would make a damaged one look
 * whole), gathering a group into one packet, and the IP lengths and partial checksum a GSO
 * super-packet written to a vnet TUN must carry. Sums come from the wasm core. Plain functions
 * over the caller's typed arrays: nothing here allocates.
 */

import type { ChecksumSum } from "./gso_splitter.ts";

/**
 * The pseudo-header's sum (folded, not inverted) of the IPv4 (`ip` 20) or IPv6 (`ip` 40) packet
 * at `at` with `l4Length` bytes of `protocol`.
 */
export function pseudoHeaderSum(
  sum: ChecksumSum,
  at: number,
  ip: number,
  protocol: number,
  l4Length: number,
): number {
  let total = (ip === 20 ? sum(at + 12, 8) : sum(at + 8, 32)) + protocol + l4Length;
  total = (total & 0xffff) + (total >>> 16);
  return (total & 0xffff) + (total >>> 16);
}

/** True when the IPv4 header checksum (if any) and the `protocol` checksum of the packet verify. */
export function checksumsVerify(
  sum: ChecksumSum,
  at: number,
  ip: number,
  length: number,
  protocol: number,
): boolean {
  if (ip === 20 && sum(at, 20) !== 0xffff) return false;
  let total = pseudoHeaderSum(sum, at, ip, protocol, length - ip) + sum(at + ip, length - ip);
  total = (total & 0xffff) + (total >>> 16);
  total = (total & 0xffff) + (total >>> 16);
  return total === 0xffff;
}

/**
 * Gives the super-packet at `out` (`total` bytes) its IP length (and, for IPv4, a new header
 * checksum). Returns the bytes past the IP header.
 */
export function setSuperPacketLengths(
  bytes: Uint8Array,
  sum: ChecksumSum,
  out: number,
  ip: number,
  total: number,
): number {
  const l4Length = total - ip;
  if (ip === 20) {
    bytes[out + 2] = total >>> 8;
    bytes[out + 3] = total & 0xff;
    bytes[out + 10] = 0;
    bytes[out + 11] = 0;
    const checksum = ~sum(out, 20) & 0xffff;
    bytes[out + 10] = checksum >>> 8;
    bytes[out + 11] = checksum & 0xff;
  } else {
    bytes[out + 4] = l4Length >>> 8;
    bytes[out + 5] = l4Length & 0xff;
  }
  return l4Length;
}

/**
 * The IP header length of the `protocol` packet at `at` when it may be coalesced: IPv4 without
 * options or fragments, or IPv6 without extension headers, whose IP length agrees with `length`
 * and leaves room for `l4Minimum` bytes past the IP header; else 0.
 */
export function candidateIpHeaderBytes(
  bytes: Uint8Array,
  at: number,
  length: number,
  protocol: number,
  l4Minimum: number,
): number {
  let ip: number;
  if (bytes[at] === 0x45) {
    if (bytes[at + 9] !== protocol || ((bytes[at + 6] & 0x3f) | bytes[at + 7]) !== 0) return 0;
    if (((bytes[at + 2] << 8) | bytes[at + 3]) !== length) return 0;
    ip = 20;
  } else if (bytes[at] >>> 4 === 6) {
    if (bytes[at + 6] !== protocol) return 0;
    if (((bytes[at + 4] << 8) | bytes[at + 5]) + 40 !== length) return 0;
    ip = 40;
  } else {
    return 0;
  }
  return length < ip + l4Minimum ? 0 : ip;
}

/**
 * True when the packets at `first` and `at` (both with `ip` header bytes) have the same
 * addresses (IPv4 12..20, IPv6 8..40) and the same two ports.
 */
export function sameAddressesAndPorts(
  bytes: Uint8Array,
  first: number,
  at: number,
  ip: number,
): boolean {
  const from = ip === 20 ? 12 : 8;
  for (let i = from; i < ip; i++) if (bytes[first + i] !== bytes[at + i]) return false;
  for (let i = 0; i < 4; i++) if (bytes[first + ip + i] !== bytes[at + ip + i]) return false;
  return true;
}

/**
 * True when the packet at `at` may follow `index` packets after the one at `first` in a
 * super-packet: the IP fields the kernel copies to every segment match (TOS/class and flow
 * label, TTL/hop limit, DF), and an IPv4 id follows on (the kernel gives segment k first id + k).
 */
export function sameIpHeaders(
  bytes: Uint8Array,
  first: number,
  at: number,
  ip: number,
  index: number,
): boolean {
  if (ip === 20) {
    if (bytes[first + 1] !== bytes[at + 1] || bytes[first + 8] !== bytes[at + 8]) return false;
    if (bytes[first + 6] !== bytes[at + 6]) return false;
    const id = ((bytes[first + 4] << 8) | bytes[first + 5]) + index;
    return ((bytes[at + 4] << 8) | bytes[at + 5]) === (id & 0xffff);
  }
  for (let i = 0; i < 4; i++) if (bytes[first + i] !== bytes[at + i]) return false;
  return bytes[first + 7] === bytes[at + 7];
}

/**
 * Builds a group's super-packet at `out`: member `base`'s whole packet, then each later
 * member's bytes past its `header` bytes, with its IP length and (IPv4) header checksum set
 * for the whole (see setSuperPacketLengths). Returns the packet's length.
 */
export function buildSuperPacket(
  bytes: Uint8Array,
  sum: ChecksumSum,
  out: number,
  memberAt: Int32Array,
  memberLength: Int32Array,
  base: number,
  count: number,
  header: number,
  ip: number,
): number {
  bytes.copyWithin(out, memberAt[base], memberAt[base] + memberLength[base]);
  let end = out + memberLength[base];
  for (let k = 1; k < count; k++) {
    const at = memberAt[base + k];
    const length = memberLength[base + k];
    bytes.copyWithin(end, at + header, at + length);
    end += length - header;
  }
  setSuperPacketLengths(bytes, sum, out, ip, end - out);
  return end - out;
}

/** Moves group `from`'s member records (address, length, slot; `perGroup` each) to group `to`. */
export function moveMembers(
  memberAt: Int32Array,
  memberLength: Int32Array,
  memberSlot: Int32Array,
  to: number,
  from: number,
  perGroup: number,
): void {
  const start = from * perGroup;
  const end = start + perGroup;
  memberAt.copyWithin(to * perGroup, start, end);
  memberLength.copyWithin(to * perGroup, start, end);
  memberSlot.copyWithin(to * perGroup, start, end);
}
