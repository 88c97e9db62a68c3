/**
 * Deterministic mesh addresses, exactly as the original meshguard derives them so existing
 * meshes keep their addresses: h = BLAKE3-256(Ed25519 public key);
 * IPv4 = 10.99.h[0].h[1] (h[1] 0→1, h[1] 255→254, h[0] 0→1), IPv6 = fd99:6d67::/64 ‖ h[0..8]
 * (an all-zero host part becomes ::1).
 */

import { blake3 } from "@noble/hashes/blake3.js";
import { formatIpv6 } from "../net/ip_address.ts";

export { formatIpv6 };

/** The mesh IPv4 prefix 10.99.0.0/16. */
export const MESH_IPV4_PREFIX = { address: "10.99.0.0", length: 16 } as const;

/** The mesh IPv6 prefix fd99:6d67::/64. */
export const MESH_IPV6_PREFIX = { address: "fd99:6d67::", length: 64 } as const;

const MESH_IPV6_NETWORK = [0xfd, 0x99, 0x6d, 0x67, 0, 0, 0, 0];

/** The four bytes of a key's mesh IPv4 address. */
export function meshIpv4Bytes(publicKey: Uint8Array): Uint8Array {
  return meshIpv4FromHash(blake3(publicKey));
}

/** The mesh IPv4 bytes for a given BLAKE3 digest (exposed so every adjustment is testable). */
export function meshIpv4FromHash(h: Uint8Array): Uint8Array {
  let third = h[0];
  let fourth = h[1];
  if (fourth === 0) fourth = 1;
  if (fourth === 255) fourth = 254;
  if (third === 0) third = 1;
  return new Uint8Array([10, 99, third, fourth]);
}

/** A key's mesh IPv4 address in dotted-quad form. */
export function meshIpv4(publicKey: Uint8Array): string {
  return meshIpv4Bytes(publicKey).join(".");
}

/** The sixteen bytes of a key's mesh IPv6 address. */
export function meshIpv6Bytes(publicKey: Uint8Array): Uint8Array {
  return meshIpv6FromHash(blake3(publicKey));
}

/** The mesh IPv6 bytes for a given BLAKE3 digest (exposed so the all-zero case is testable). */
export function meshIpv6FromHash(h: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(16);
  bytes.set(MESH_IPV6_NETWORK);
  bytes.set(h.subarray(0, 8), 8);
  if (bytes.subarray(8).every((byte) => byte === 0)) bytes[15] = 1;
  return bytes;
}

/** A key's mesh IPv6 address in RFC 5952 canonical text form. */
export function meshIpv6(publicKey: Uint8Array): string {
  return formatIpv6(meshIpv6Bytes(publicKey));
}
