/**
 * The 64-byte cleartext header every meshguard SWIM datagram starts with, and the two
 * classification checks the single UDP port relies on. Layout and the reasons it can never
 * read as WireGuard or STUN are in `wire_format.md`.
 */

import { HEADER_BYTES, MessageType, SWIM_MAGIC, SWIM_WIRE_VERSION } from "./constants.ts";
import { SwimDecodeError } from "./swim_errors.ts";

/** The port's classifier (one for WireGuard, SWIM and STUN) lives in lib/net. */
export { classifiesAsStun, classifiesAsWireguard, isSwimDatagram } from "../net/port_demux.ts";

/**
 * The decoded header fields. `sender` is a view into the datagram; the 64 header bytes
 * themselves are the datagram's first 64 (no view of them: one fewer allocation per datagram).
 */
export interface SwimHeader {
  /** Message type code (offset 0). */
  type: number;
  /** Sender's boot epoch (offset 8): grows on every restart, keys the session. */
  senderEpoch: number;
  /** The epoch the sender believes the receiver has (offset 16); 0 only in Hello. */
  receiverEpoch: number;
  /** Per-direction message counter (offset 24): the AEAD nonce and replay-window position. */
  counter: number;
  /** Sender's Ed25519 public key (offset 32), checked against the trust set first. */
  sender: Uint8Array;
}

/** Largest value a u64 field may hold here: JS numbers are exact only up to 2^53. */
const MAX_SAFE_HIGH = 0x1fffff;

/** Writes a u64 LE (value ≤ 2^53) at `offset`. */
export function writeU64(out: Uint8Array, offset: number, value: number): void {
  const low = value >>> 0;
  const high = Math.floor(value / 0x1_0000_0000);
  out[offset] = low & 0xff;
  out[offset + 1] = (low >>> 8) & 0xff;
  out[offset + 2] = (low >>> 16) & 0xff;
  out[offset + 3] = low >>> 24;
  out[offset + 4] = high & 0xff;
  out[offset + 5] = (high >>> 8) & 0xff;
  out[offset + 6] = (high >>> 16) & 0xff;
  out[offset + 7] = high >>> 24;
}

/** Reads a u32 LE. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16)) +
    bytes[offset + 3] * 0x100_0000;
}

/** Writes a u32 LE. */
export function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value & 0xff;
  out[offset + 1] = (value >>> 8) & 0xff;
  out[offset + 2] = (value >>> 16) & 0xff;
  out[offset + 3] = (value >>> 24) & 0xff;
}

/** Reads a u64 LE, or -1 when it exceeds 2^53 (we never send such values). */
export function readU64(bytes: Uint8Array, offset: number): number {
  const high = readU32(bytes, offset + 4);
  if (high > MAX_SAFE_HIGH) return -1;
  const low = readU32(bytes, offset);
  // A small value stays a small integer (a float product would be stored boxed, 16 bytes, in
  // every object field it lands in: member epochs are held per node per member).
  return high === 0 ? low : high * 0x1_0000_0000 + low;
}

/** Writes a header into the first 64 bytes of `out`. */
export function writeHeader(
  out: Uint8Array,
  type: number,
  senderEpoch: number,
  receiverEpoch: number,
  counter: number,
  sender: Uint8Array,
): void {
  out[0] = type;
  out[1] = SWIM_WIRE_VERSION;
  out.set(SWIM_MAGIC, 2);
  out[6] = 0;
  out[7] = 0;
  writeU64(out, 8, senderEpoch);
  writeU64(out, 16, receiverEpoch);
  writeU64(out, 24, counter);
  out.set(sender, 32);
}

const KNOWN_TYPES = new Set<number>(Object.values(MessageType));

/** Parses and sanity-checks a header; throws only SwimDecodeError. */
export function readHeader(bytes: Uint8Array): SwimHeader {
  if (bytes.length < HEADER_BYTES) {
    throw new SwimDecodeError("truncated", `datagram of ${bytes.length} bytes is below the header`);
  }
  if (bytes[1] !== SWIM_WIRE_VERSION) {
    throw new SwimDecodeError("bad-version", `unsupported SWIM wire version ${bytes[1]}`);
  }
  if (
    bytes[2] !== SWIM_MAGIC[0] || bytes[3] !== SWIM_MAGIC[1] || bytes[4] !== SWIM_MAGIC[2] ||
    bytes[5] !== SWIM_MAGIC[3]
  ) throw new SwimDecodeError("bad-magic", "missing the 'mgsw' magic");
  if (bytes[6] !== 0 || bytes[7] !== 0) {
    throw new SwimDecodeError("bad-reserved", "reserved header bytes are not zero");
  }
  if (!KNOWN_TYPES.has(bytes[0])) {
    throw new SwimDecodeError("bad-type", `unknown message type 0x${bytes[0].toString(16)}`);
  }
  const senderEpoch = readU64(bytes, 8);
  const receiverEpoch = readU64(bytes, 16);
  const counter = readU64(bytes, 24);
  if (senderEpoch <= 0 || receiverEpoch < 0 || counter < 0) {
    throw new SwimDecodeError("bad-number", "epoch or counter out of range");
  }
  return {
    type: bytes[0],
    senderEpoch,
    receiverEpoch,
    counter,
    sender: bytes.subarray(32, 64),
  };
}
