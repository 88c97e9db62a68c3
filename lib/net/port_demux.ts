/**
 * What arrives on the shared UDP port, by its first bytes: WireGuard (handshake messages, types
 * 1–3, and transport data, type 4: a u32 little-endian type), meshguard SWIM (a version byte
 * that is never 0 and the "mgsw" magic at 2..5) and STUN (the magic cookie at 4..7). SWIM is
 * disjoint from both by construction (`lib/swim/wire_format.md`); a WireGuard message whose
 * random sender index happens to equal STUN's cookie is WireGuard. The one classifier for the
 * port; relay framing will be added here.
 */

import { HEADER_BYTES, SWIM_MAGIC, SWIM_WIRE_VERSION } from "../swim/constants.ts";

/** Nothing this port speaks. */
export const PORT_UNKNOWN = 0;
/** A WireGuard handshake initiation, response or cookie reply (types 1–3). */
export const PORT_WIREGUARD_HANDSHAKE = 1;
/** A WireGuard transport data message (type 4). */
export const PORT_WIREGUARD_DATA = 2;
/** A meshguard SWIM datagram (header checks beyond the magic are membership's). */
export const PORT_SWIM = 3;
/** A STUN message. */
export const PORT_STUN = 4;

/** STUN's magic cookie, big-endian at bytes 4..7 (RFC 5389). */
const STUN_MAGIC_COOKIE = [0x21, 0x12, 0xa4, 0x42];

/** The kind of a datagram (one of the PORT_* values); allocation-free, for the hot path. */
export function classifyDatagram(bytes: Uint8Array): number {
  const length = bytes.length;
  if (length < 4) return PORT_UNKNOWN;
  if ((bytes[1] | bytes[2] | bytes[3]) === 0) {
    const type = bytes[0];
    if (type >= 1 && type <= 3) return PORT_WIREGUARD_HANDSHAKE;
    if (type === 4) return PORT_WIREGUARD_DATA;
    return PORT_UNKNOWN;
  }
  if (
    length >= HEADER_BYTES && bytes[1] === SWIM_WIRE_VERSION && bytes[2] === SWIM_MAGIC[0] &&
    bytes[3] === SWIM_MAGIC[1] && bytes[4] === SWIM_MAGIC[2] && bytes[5] === SWIM_MAGIC[3]
  ) return PORT_SWIM;
  return hasStunCookie(bytes) ? PORT_STUN : PORT_UNKNOWN;
}

function hasStunCookie(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[4] === STUN_MAGIC_COOKIE[0] &&
    bytes[5] === STUN_MAGIC_COOKIE[1] && bytes[6] === STUN_MAGIC_COOKIE[2] &&
    bytes[7] === STUN_MAGIC_COOKIE[3];
}

/** True when the first bytes could be a SWIM datagram. */
export function isSwimDatagram(bytes: Uint8Array): boolean {
  return classifyDatagram(bytes) === PORT_SWIM;
}

/** True for WireGuard's four message types (u32 LE type 1..4). */
export function classifiesAsWireguard(bytes: Uint8Array): boolean {
  const kind = classifyDatagram(bytes);
  return kind === PORT_WIREGUARD_HANDSHAKE || kind === PORT_WIREGUARD_DATA;
}

/** True when bytes 4..7 hold STUN's magic cookie, whatever else the datagram could be. */
export function classifiesAsStun(bytes: Uint8Array): boolean {
  return hasStunCookie(bytes);
}
