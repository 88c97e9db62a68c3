/**
 * `struct sockaddr_in6` encoding for the dual-stack UDP socket, and the IPv4-mapped form
 * (::ffff:a.b.c.d) in which IPv4 peers appear on it. Layout (Linux, any architecture): u16
 * family, u16 port (big endian), u32 flowinfo, 16 address bytes, u32 scope id = 28 bytes.
 */

import { InvalidArgumentError } from "./errors.ts";

/** AF_INET6 on Linux. */
export const AF_INET6 = 10;
/** AF_INET on Linux. */
export const AF_INET = 2;
/** sizeof(struct sockaddr_in6). */
export const SOCKADDR_IN6_SIZE = 28;

/** True when a 16-byte address is IPv4-mapped (::ffff:0:0/96). */
export function isIpv4Mapped(address: Uint8Array): boolean {
  if (address.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return false;
  return address[10] === 0xff && address[11] === 0xff;
}

/** The 4-byte IPv4 address inside a mapped IPv6 address (throws if it is not mapped). */
export function ipv4FromMapped(address: Uint8Array): Uint8Array {
  if (!isIpv4Mapped(address)) {
    throw new InvalidArgumentError("address is not an IPv4-mapped IPv6 address (::ffff:a.b.c.d)");
  }
  return address.slice(12, 16);
}

/** The IPv4-mapped IPv6 form (::ffff:a.b.c.d) of a 4-byte IPv4 address. */
export function ipv4Mapped(address: Uint8Array): Uint8Array {
  if (address.length !== 4) {
    throw new InvalidArgumentError(`an IPv4 address is 4 bytes, got ${address.length}`);
  }
  const mapped = new Uint8Array(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped.set(address, 12);
  return mapped;
}

/** A peer address as the protocol layers want it: 4 bytes for IPv4 (mapped or not), else 16. */
export function unmapAddress(address: Uint8Array): Uint8Array {
  return isIpv4Mapped(address) ? address.slice(12, 16) : address;
}

/**
 * Writes a sockaddr_in6 for `address` (4 bytes = IPv4, written mapped; 16 bytes = IPv6) and
 * `port` at `offset`. Allocation-free: the batch paths call it once per datagram.
 */
export function writeSockaddrIn6(
  target: Uint8Array,
  offset: number,
  address: Uint8Array,
  port: number,
): void {
  if (!(port >= 0 && port <= 65535 && Number.isInteger(port))) {
    throw new InvalidArgumentError(`port ${port} is not in 0..65535`);
  }
  target[offset] = AF_INET6 & 0xff; // little-endian u16 family (x86_64)
  target[offset + 1] = AF_INET6 >> 8;
  target[offset + 2] = port >> 8;
  target[offset + 3] = port & 0xff;
  target.fill(0, offset + 4, offset + 8); // flowinfo
  if (address.length === 16) {
    target.set(address, offset + 8);
  } else if (address.length === 4) {
    target.fill(0, offset + 8, offset + 18);
    target[offset + 18] = 0xff;
    target[offset + 19] = 0xff;
    target.set(address, offset + 20);
  } else {
    throw new InvalidArgumentError(
      `a peer address must be 4 (IPv4) or 16 (IPv6) bytes, got ${address.length}`,
    );
  }
  target.fill(0, offset + 24, offset + 28); // scope id
}

/** The port of the sockaddr_in6 at `offset`. */
export function sockaddrPort(source: Uint8Array, offset: number): number {
  return (source[offset + 2] << 8) | source[offset + 3];
}

/** Copies the 16 address bytes of the sockaddr_in6 at `offset` into `out` (no allocation). */
export function copySockaddrAddress(source: Uint8Array, offset: number, out: Uint8Array): void {
  for (let i = 0; i < 16; i++) out[i] = source[offset + 8 + i]; // no subarray: no allocation
}
