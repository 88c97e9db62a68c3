/**
 * The relay frame on the mesh port (issue 13): a 16-byte header in front of a WireGuard datagram
 * carried as is. `magic "mgrl" (4) | version u8 (1) | kind u8 | reserved u16 (0) | short id (8)`.
 * A sender addresses the relay with kind TO_RELAY and the destination's short id; the relay
 * rewrites the same 16 bytes in place to kind FROM_RELAY and the sender's short id, so
 * forwarding copies nothing. The short id is the first 8 bytes of the member's public key.
 * Disjoint from the port's other protocols by construction: byte 1 is never 0 (WireGuard needs
 * bytes 1..3 zero), bytes 2..5 are never "mgsw" (SWIM), byte 0's top bits are 01 (a STUN
 * message's are 00) and bytes 4..7 are never STUN's cookie (lib/swim/wire_format.md).
 */

/** Bytes of the relay header. */
export const RELAY_HEADER_BYTES = 16;
/** Bytes of a short id: a member public key's prefix. */
export const SHORT_ID_BYTES = 8;
/** The frame's first four bytes, "mgrl". */
export const RELAY_MAGIC = [0x6d, 0x67, 0x72, 0x6c] as const;
/** The frame format's version. */
export const RELAY_VERSION = 1;
/** A frame from a member to its relay: the id names the destination. */
export const RELAY_TO = 1;
/** A frame from the relay to the destination: the id names the original sender. */
export const RELAY_FROM = 2;
/** Smallest WireGuard datagram a relay carries (a keepalive: header and tag). */
export const MIN_RELAYED_PAYLOAD = 32;

/** True when `bytes` starts with the relay magic and is long enough to hold a header. */
export function hasRelayMagic(bytes: Uint8Array): boolean {
  return bytes.length >= RELAY_HEADER_BYTES && bytes[0] === RELAY_MAGIC[0] &&
    bytes[1] === RELAY_MAGIC[1] && bytes[2] === RELAY_MAGIC[2] && bytes[3] === RELAY_MAGIC[3];
}

/** True when `bytes[at, at + length)` starts with the relay magic and can hold a header. */
export function hasRelayMagicAt(bytes: Uint8Array, at: number, length: number): boolean {
  return length >= RELAY_HEADER_BYTES && bytes[at] === RELAY_MAGIC[0] &&
    bytes[at + 1] === RELAY_MAGIC[1] && bytes[at + 2] === RELAY_MAGIC[2] &&
    bytes[at + 3] === RELAY_MAGIC[3];
}

/**
 * The frame's kind (RELAY_TO or RELAY_FROM) when its header is well formed and it carries a
 * WireGuard datagram (u32 LE type 1..4), else 0. Allocation-free.
 */
export function relayFrameKind(frame: Uint8Array): number {
  return relayFrameKindAt(frame, 0, frame.length);
}

/** As relayFrameKind, for the frame at `bytes[at, at + length)` (no view needed). */
export function relayFrameKindAt(bytes: Uint8Array, at: number, length: number): number {
  if (!hasRelayMagicAt(bytes, at, length) || bytes[at + 4] !== RELAY_VERSION) return 0;
  const kind = bytes[at + 5];
  if ((kind !== RELAY_TO && kind !== RELAY_FROM) || bytes[at + 6] !== 0 || bytes[at + 7] !== 0) {
    return 0;
  }
  if (length < RELAY_HEADER_BYTES + MIN_RELAYED_PAYLOAD) return 0;
  const h = at + RELAY_HEADER_BYTES;
  if ((bytes[h + 1] | bytes[h + 2] | bytes[h + 3]) !== 0) return 0;
  const type = bytes[h];
  return type >= 1 && type <= 4 ? kind : 0;
}

/** Writes a relay header of `kind` naming `shortId` (≥ 8 bytes: a key or its prefix) at `at`. */
export function writeRelayHeader(
  out: Uint8Array,
  at: number,
  kind: number,
  shortId: Uint8Array,
): void {
  out[at] = RELAY_MAGIC[0];
  out[at + 1] = RELAY_MAGIC[1];
  out[at + 2] = RELAY_MAGIC[2];
  out[at + 3] = RELAY_MAGIC[3];
  out[at + 4] = RELAY_VERSION;
  out[at + 5] = kind;
  out[at + 6] = 0;
  out[at + 7] = 0;
  for (let i = 0; i < SHORT_ID_BYTES; i++) out[at + 8 + i] = shortId[i];
}

/** A new frame: header then `payload` (for tests and the slow path; the hot path writes in place). */
export function encodeRelayFrame(
  kind: number,
  shortId: Uint8Array,
  payload: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(RELAY_HEADER_BYTES + payload.length);
  writeRelayHeader(out, 0, kind, shortId);
  out.set(payload, RELAY_HEADER_BYTES);
  return out;
}

/** The frame's short id (a view, no copy). */
export function relayShortId(frame: Uint8Array): Uint8Array {
  return frame.subarray(8, 8 + SHORT_ID_BYTES);
}

/** The WireGuard datagram a frame carries (a view, no copy). */
export function relayPayload(frame: Uint8Array): Uint8Array {
  return frame.subarray(RELAY_HEADER_BYTES);
}
