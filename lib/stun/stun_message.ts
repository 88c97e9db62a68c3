/**
 * STUN (RFC 8489) Binding messages: the header, the attributes meshguard reads and writes, and
 * the checks every message passes before anything reads it. Strict where the RFC is: the top two
 * bits are 0, the magic cookie is present, the declared length is a multiple of 4 and matches the
 * datagram exactly, every attribute (with its padding to 4 bytes) fits, FINGERPRINT is the last
 * attribute and its CRC matches. Padding bytes are not checked (RFC 8489 §14: any value; RFC
 * 5769's vectors pad with spaces).
 *
 * What a response may carry (our requests carry no credentials, so a server has no reason to
 * authenticate its answer): MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256 are recognised and
 * not verified (without a shared secret they would prove nothing; the transaction ID we chose at
 * random is the proof that the answer belongs to our request). Other comprehension-required
 * attributes (0x0000–0x7FFF) that we do not know make the response unusable (RFC 8489 §6.3.3:
 * the transaction fails); unknown comprehension-optional ones (0x8000–0xFFFF) are skipped.
 */

import { crc32 } from "./crc32.ts";

/** The fixed STUN header: type, length, magic cookie, transaction ID. */
export const STUN_HEADER_BYTES = 20;
/** STUN's magic cookie (RFC 8489 §5). */
export const MAGIC_COOKIE = 0x2112a442;
/** The transaction ID's length in bytes (96 bits). */
export const TRANSACTION_ID_BYTES = 12;
/** Binding request. */
export const BINDING_REQUEST = 0x0001;
/** Binding success response. */
export const BINDING_SUCCESS = 0x0101;
/** Binding error response. */
export const BINDING_ERROR = 0x0111;

/** MAPPED-ADDRESS (RFC 8489 §14.1): the address in the clear, from RFC 3489 servers. */
export const ATTR_MAPPED_ADDRESS = 0x0001;
/** USERNAME. */
export const ATTR_USERNAME = 0x0006;
/** MESSAGE-INTEGRITY (HMAC-SHA1). */
export const ATTR_MESSAGE_INTEGRITY = 0x0008;
/** ERROR-CODE. */
export const ATTR_ERROR_CODE = 0x0009;
/** UNKNOWN-ATTRIBUTES. */
export const ATTR_UNKNOWN_ATTRIBUTES = 0x000a;
/** REALM. */
export const ATTR_REALM = 0x0014;
/** NONCE. */
export const ATTR_NONCE = 0x0015;
/** MESSAGE-INTEGRITY-SHA256. */
export const ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001c;
/** PASSWORD-ALGORITHM. */
export const ATTR_PASSWORD_ALGORITHM = 0x001d;
/** USERHASH. */
export const ATTR_USERHASH = 0x001e;
/** XOR-MAPPED-ADDRESS (RFC 8489 §14.2). */
export const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
/** XOR-MAPPED-ADDRESS's pre-standard number, still sent by some servers. */
export const ATTR_XOR_MAPPED_ADDRESS_OLD = 0x8020;
/** SOFTWARE. */
export const ATTR_SOFTWARE = 0x8022;
/** FINGERPRINT: CRC-32 of the message up to it, XOR FINGERPRINT_XOR. */
export const ATTR_FINGERPRINT = 0x8028;
/** What FINGERPRINT's CRC is XORed with ("STUN"). */
export const FINGERPRINT_XOR = 0x5354554e;

/** Comprehension-required attributes a response may carry that we understand (or knowingly skip). */
const KNOWN_REQUIRED = new Set([
  ATTR_MAPPED_ADDRESS,
  ATTR_USERNAME,
  ATTR_MESSAGE_INTEGRITY,
  ATTR_ERROR_CODE,
  ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_REALM,
  ATTR_NONCE,
  ATTR_MESSAGE_INTEGRITY_SHA256,
  ATTR_PASSWORD_ALGORITHM,
  ATTR_USERHASH,
  ATTR_XOR_MAPPED_ADDRESS,
]);

/** Address family codes in (XOR-)MAPPED-ADDRESS. */
const FAMILY_IPV4 = 0x01;
const FAMILY_IPV6 = 0x02;

/** A transport address: 4 or 16 address bytes and a port. */
export interface StunAddress {
  address: Uint8Array;
  port: number;
}

/** A Binding response that passed every check. */
export interface StunResponse {
  /** BINDING_SUCCESS or BINDING_ERROR. */
  type: number;
  transactionId: Uint8Array;
  /** XOR-MAPPED-ADDRESS (either number), else MAPPED-ADDRESS, else null. */
  mapped: StunAddress | null;
  /** ERROR-CODE as class × 100 + number, or null. */
  errorCode: number | null;
  /** True when the message carried a FINGERPRINT (it matched, or parsing failed). */
  fingerprint: boolean;
}

/** Why a datagram is not a usable STUN response. */
export type StunRejectReason =
  | "header"
  | "length"
  | "attribute"
  | "fingerprint"
  | "address"
  | "unknown-required"
  | "not-a-response";

/** The outcome of `parseStunResponse`. */
export type StunParseResult =
  | { ok: true; response: StunResponse }
  | { ok: false; reason: StunRejectReason };

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 8) | bytes[at + 1];
}

function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function put16(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 8;
  bytes[at + 1] = value;
}

function put32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

/**
 * True when `bytes[0..length)` has a valid STUN header: top bits 0, the cookie, and a declared
 * length that is a multiple of 4 and accounts for exactly the rest of the datagram.
 */
export function validStunHeader(bytes: Uint8Array, length: number): boolean {
  if (length < STUN_HEADER_BYTES || length > bytes.length) return false;
  if ((bytes[0] & 0xc0) !== 0) return false;
  if (u32(bytes, 4) !== MAGIC_COOKIE) return false;
  const declared = u16(bytes, 2);
  return (declared & 3) === 0 && STUN_HEADER_BYTES + declared === length;
}

/** The STUN message type of a datagram with a valid header. */
export function stunType(bytes: Uint8Array): number {
  return u16(bytes, 0);
}

/** Padded length of an attribute value. */
function padded(length: number): number {
  return (length + 3) & ~3;
}

/**
 * True when the FINGERPRINT attribute at `at` (its header) is the last attribute, 4 bytes long,
 * and holds the CRC of everything before it.
 */
function fingerprintMatches(bytes: Uint8Array, at: number, length: number): boolean {
  if (u16(bytes, at + 2) !== 4 || at + 8 !== length) return false;
  return ((crc32(bytes, 0, at) ^ FINGERPRINT_XOR) >>> 0) === u32(bytes, at + 4);
}

/** Reads a (XOR-)MAPPED-ADDRESS value, or null when its family or length is wrong. */
function readAddress(
  bytes: Uint8Array,
  at: number,
  valueLength: number,
  xor: boolean,
): StunAddress | null {
  const family = bytes[at + 1];
  const size = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : 0;
  if (size === 0 || valueLength !== 4 + size) return null;
  const port = u16(bytes, at + 2) ^ (xor ? MAGIC_COOKIE >>> 16 : 0);
  const address = bytes.slice(at + 4, at + 4 + size);
  if (xor) {
    // The mask is the cookie followed by the transaction ID: header bytes 4..20.
    for (let i = 0; i < size; i++) address[i] ^= bytes[4 + i];
  }
  return { address, port };
}

/** Checks and reads a Binding success or error response (never throws). */
export function parseStunResponse(bytes: Uint8Array): StunParseResult {
  const length = bytes.length;
  if (!validStunHeader(bytes, length)) {
    return { ok: false, reason: length >= STUN_HEADER_BYTES ? "header" : "length" };
  }
  const type = u16(bytes, 0);
  if (type !== BINDING_SUCCESS && type !== BINDING_ERROR) {
    return { ok: false, reason: "not-a-response" };
  }
  let xorMapped: StunAddress | null = null;
  let mapped: StunAddress | null = null;
  let errorCode: number | null = null;
  let fingerprint = false;
  let at = STUN_HEADER_BYTES;
  while (at < length) {
    if (at + 4 > length) return { ok: false, reason: "attribute" };
    const attribute = u16(bytes, at);
    const valueLength = u16(bytes, at + 2);
    const value = at + 4;
    if (value + padded(valueLength) > length) return { ok: false, reason: "attribute" };
    if (attribute === ATTR_FINGERPRINT) {
      if (!fingerprintMatches(bytes, at, length)) return { ok: false, reason: "fingerprint" };
      fingerprint = true;
    } else if (attribute === ATTR_XOR_MAPPED_ADDRESS || attribute === ATTR_XOR_MAPPED_ADDRESS_OLD) {
      // Only the first occurrence of an attribute counts (RFC 8489 §14).
      if (xorMapped === null) {
        xorMapped = readAddress(bytes, value, valueLength, true);
        if (xorMapped === null) return { ok: false, reason: "address" };
      }
    } else if (attribute === ATTR_MAPPED_ADDRESS) {
      if (mapped === null) {
        mapped = readAddress(bytes, value, valueLength, false);
        if (mapped === null) return { ok: false, reason: "address" };
      }
    } else if (attribute === ATTR_ERROR_CODE) {
      if (valueLength < 4) return { ok: false, reason: "attribute" };
      const errorClass = bytes[value + 2] & 0x07;
      const number = bytes[value + 3];
      if (errorClass < 3 || errorClass > 6 || number > 99) {
        return { ok: false, reason: "attribute" };
      }
      if (errorCode === null) errorCode = errorClass * 100 + number;
    } else if (attribute < 0x8000 && !KNOWN_REQUIRED.has(attribute)) {
      return { ok: false, reason: "unknown-required" };
    }
    at = value + padded(valueLength);
  }
  if (type === BINDING_SUCCESS && xorMapped === null && mapped === null) {
    return { ok: false, reason: "address" };
  }
  if (type === BINDING_ERROR && errorCode === null) return { ok: false, reason: "attribute" };
  return {
    ok: true,
    response: {
      type,
      transactionId: bytes.slice(8, STUN_HEADER_BYTES),
      mapped: xorMapped ?? mapped,
      errorCode,
      fingerprint,
    },
  };
}

/** The SOFTWARE value our requests carry (comprehension-optional, so servers may ignore it). */
const SOFTWARE = new TextEncoder().encode("meshguard");

/**
 * Size of our Binding request: header, SOFTWARE ("meshguard", padded to 12) and FINGERPRINT —
 * 44 bytes, at least an IPv4 answer (40) and close to an IPv6 one (52), so a meshguard client
 * never makes a server amplify.
 */
export const BINDING_REQUEST_BYTES = STUN_HEADER_BYTES + 4 + padded(SOFTWARE.length) + 8;

/** A Binding request with `transactionId` (12 bytes), SOFTWARE and FINGERPRINT. */
export function encodeBindingRequest(transactionId: Uint8Array): Uint8Array {
  if (transactionId.length !== TRANSACTION_ID_BYTES) {
    throw new RangeError(`a STUN transaction ID is 12 bytes, got ${transactionId.length}`);
  }
  const out = new Uint8Array(BINDING_REQUEST_BYTES);
  put16(out, 0, BINDING_REQUEST);
  put16(out, 2, BINDING_REQUEST_BYTES - STUN_HEADER_BYTES);
  put32(out, 4, MAGIC_COOKIE);
  out.set(transactionId, 8);
  let at = STUN_HEADER_BYTES;
  put16(out, at, ATTR_SOFTWARE);
  put16(out, at + 2, SOFTWARE.length);
  out.set(SOFTWARE, at + 4);
  at += 4 + padded(SOFTWARE.length);
  writeFingerprint(out, at);
  return out;
}

/** Writes FINGERPRINT at `at` over `out[0..at)` (the header's length must already include it). */
function writeFingerprint(out: Uint8Array, at: number): void {
  put16(out, at, ATTR_FINGERPRINT);
  put16(out, at + 2, 4);
  put32(out, at + 4, (crc32(out, 0, at) ^ FINGERPRINT_XOR) >>> 0);
}

/** Bytes a Binding success response with an IPv6 XOR-MAPPED-ADDRESS and FINGERPRINT takes. */
export const MAX_BINDING_SUCCESS_BYTES = STUN_HEADER_BYTES + 4 + 20 + 8;

/**
 * Writes a Binding success response into `out` (at least MAX_BINDING_SUCCESS_BYTES): the
 * transaction ID of `request` (a checked request), XOR-MAPPED-ADDRESS of `address` (4 or 16
 * bytes) and `port`, and FINGERPRINT. Returns its length (40 for IPv4, 52 for IPv6). Allocates
 * nothing.
 */
export function writeBindingSuccess(
  out: Uint8Array,
  request: Uint8Array,
  address: Uint8Array,
  port: number,
): number {
  const size = address.length;
  const total = STUN_HEADER_BYTES + 4 + 4 + size + 8;
  put16(out, 0, BINDING_SUCCESS);
  put16(out, 2, total - STUN_HEADER_BYTES);
  put32(out, 4, MAGIC_COOKIE);
  for (let i = 8; i < STUN_HEADER_BYTES; i++) out[i] = request[i];
  let at = STUN_HEADER_BYTES;
  put16(out, at, ATTR_XOR_MAPPED_ADDRESS);
  put16(out, at + 2, 4 + size);
  out[at + 4] = 0;
  out[at + 5] = size === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  put16(out, at + 6, port ^ (MAGIC_COOKIE >>> 16));
  for (let i = 0; i < size; i++) out[at + 8 + i] = address[i] ^ out[4 + i];
  at += 8 + size;
  writeFingerprint(out, at);
  return total;
}

/**
 * True when `bytes[0..length)` is a Binding request we answer: a valid header, type 0x0001,
 * attributes that fit, a FINGERPRINT (when present) that is last and matches, and no
 * comprehension-required attribute at all. A request that needs more than a plain answer
 * (credentials, unknown required attributes: RFC 8489 would owe a 400/401/420 error) is dropped
 * instead, so nothing is ever sent in answer to a datagram that is not a plain Binding request.
 * Allocates nothing.
 */
export function isPlainBindingRequest(bytes: Uint8Array, length: number): boolean {
  if (!validStunHeader(bytes, length) || u16(bytes, 0) !== BINDING_REQUEST) return false;
  let at = STUN_HEADER_BYTES;
  while (at < length) {
    if (at + 4 > length) return false;
    const attribute = u16(bytes, at);
    const valueLength = u16(bytes, at + 2);
    if (at + 4 + padded(valueLength) > length) return false;
    if (attribute === ATTR_FINGERPRINT) {
      if (!fingerprintMatches(bytes, at, length)) return false;
    } else if (attribute < 0x8000) {
      return false;
    }
    at += 4 + padded(valueLength);
  }
  return true;
}

/** True for a datagram with a valid header whose type is a Binding success or error response. */
export function looksLikeBindingResponse(bytes: Uint8Array, length: number): boolean {
  if (!validStunHeader(bytes, length)) return false;
  const type = u16(bytes, 0);
  return type === BINDING_SUCCESS || type === BINDING_ERROR;
}
