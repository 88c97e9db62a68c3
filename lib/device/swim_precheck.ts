/**
 * The checks a data worker makes on a SWIM-looking datagram before the main thread sees it: the
 * cheap, allocation-free part of `readHeader` (lib/swim/header.ts; the layout is in
 * lib/swim/wire_format.md) plus size bounds. Everything rejected here the membership engine
 * would reject too; nothing it would accept is rejected.
 */

import {
  AEAD_TAG_BYTES,
  HEADER_BYTES,
  MAX_DATAGRAM_BYTES,
  MessageType,
  SIGNATURE_BYTES,
  SWIM_MAGIC,
  SWIM_WIRE_VERSION,
} from "../swim/constants.ts";

/** The smallest datagram of each kind membership accepts (`inbound.ts`, `hello.ts`). */
const MIN_ENCRYPTED = HEADER_BYTES + AEAD_TAG_BYTES;
const MIN_HELLO = HEADER_BYTES + SIGNATURE_BYTES + 3;
/** 1 at each known type code: built from MessageType, so a new type is never refused here. */
const KNOWN_TYPE = new Uint8Array(256);
for (const code of Object.values(MessageType)) KNOWN_TYPE[code] = 1;
/** u64 high words above this are past 2^53: never sent, and readHeader refuses them. */
const MAX_SAFE_HIGH = 0x1fffff;

/**
 * True when `bytes` has a SWIM header membership could accept: version, magic, zero reserved
 * bytes, a known type, size within bounds, a sender epoch > 0, and a receiver epoch > 0 unless
 * it is a Hello (an encrypted datagram for epoch 0 can never match ours).
 */
export function plausibleSwimDatagram(bytes: Uint8Array): boolean {
  const length = bytes.length;
  if (length < MIN_ENCRYPTED || length > MAX_DATAGRAM_BYTES) return false;
  if (
    bytes[1] !== SWIM_WIRE_VERSION || bytes[2] !== SWIM_MAGIC[0] || bytes[3] !== SWIM_MAGIC[1] ||
    bytes[4] !== SWIM_MAGIC[2] || bytes[5] !== SWIM_MAGIC[3] || (bytes[6] | bytes[7]) !== 0
  ) return false;
  const type = bytes[0];
  if (KNOWN_TYPE[type] !== 1) return false;
  if (type === MessageType.Hello && length < MIN_HELLO) return false;
  if (!positiveU64(bytes, 8)) return false;
  if (type === MessageType.Hello) return u64Fits(bytes, 16) && u64Fits(bytes, 24);
  return positiveU64(bytes, 16) && u64Fits(bytes, 24);
}

/** The u64 LE at `at` is at most 2^53 (what JS numbers hold exactly). */
function u64Fits(bytes: Uint8Array, at: number): boolean {
  return (bytes[at + 4] | (bytes[at + 5] << 8) | (bytes[at + 6] << 16) | (bytes[at + 7] << 24)) >>>
      0 <= MAX_SAFE_HIGH;
}

/** The u64 LE at `at` is in 1..2^53. */
function positiveU64(bytes: Uint8Array, at: number): boolean {
  if (!u64Fits(bytes, at)) return false;
  for (let i = at; i < at + 8; i++) if (bytes[i] !== 0) return true;
  return false;
}
