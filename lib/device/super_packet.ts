/**
 * What the TCP and UDP coalescers share: the checksums a packet must pass before it may join a
 * super-packet (its own are recomputed by the kernel, which would make a damaged one look
 * whole), gathering a group into one packet, and the IP lengths and partial checksum a GSO
 * super-packet written to a vnet TUN must carry. Sums come from the wasm core.
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
 * Copies a group into one packet at `out`: member `base`'s whole packet, then each later
 * member's bytes past its `header` bytes. Returns the packet's length.
 */
export function gatherMembers(
  bytes: Uint8Array,
  out: number,
  memberAt: Int32Array,
  memberLength: Int32Array,
  base: number,
  count: number,
  header: number,
): number {
  bytes.copyWithin(out, memberAt[base], memberAt[base] + memberLength[base]);
  let end = out + memberLength[base];
  for (let k = 1; k < count; k++) {
    const at = memberAt[base + k];
    const length = memberLength[base + k];
    bytes.copyWithin(end, at + header, at + length);
    end += length - header;
  }
  return end - out;
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
