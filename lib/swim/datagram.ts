/**
 * Sealing and opening an encrypted SWIM datagram: header (cleartext, authenticated) ‖
 * ChaCha20-Poly1305 of the body under the per-direction session key. The associated data is
 * the header plus the receiver's public key, so a datagram cannot be reflected back or
 * redirected to another member. A datagram is built in one buffer (header, body, tag) and
 * sealed in place: nothing is copied per datagram but the 96 bytes of associated data.
 */

import { AEAD_TAG_BYTES, HEADER_BYTES, PUBLIC_KEY_BYTES } from "./constants.ts";
import { writeHeader } from "./header.ts";
import type { SwimCrypto } from "./swim_crypto.ts";

/**
 * Associated data of the datagram being sealed or opened. The engine is synchronous and the
 * AEAD reads it before returning, so one buffer serves every call (no allocation per datagram).
 */
const AAD = new Uint8Array(HEADER_BYTES + PUBLIC_KEY_BYTES);

/** Fills AAD from the datagram's header and the receiver's key (a loop: `set` of a view allocates). */
function setAssociatedData(data: Uint8Array, receiver: Uint8Array): void {
  for (let i = 0; i < HEADER_BYTES; i++) AAD[i] = data[i];
  AAD.set(receiver, HEADER_BYTES);
}

/** The AEAD associated data: the 64-byte header followed by the receiver's key (a new array). */
export function associatedData(header: Uint8Array, receiver: Uint8Array): Uint8Array {
  const aad = new Uint8Array(HEADER_BYTES + PUBLIC_KEY_BYTES);
  aad.set(header.subarray(0, HEADER_BYTES));
  aad.set(receiver, HEADER_BYTES);
  return aad;
}

/**
 * Outgoing datagrams are cut from 64 KiB slabs: an ArrayBuffer of its own per datagram costs
 * ~1 µs (an off-heap allocation the GC must track), a view of a slab a tenth of that. A slab
 * is never reused, so a datagram a caller keeps stays intact (and keeps its slab alive).
 */
const SLAB_BYTES = 65_536;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/** A zeroed datagram with room for the header, a body of `bodyBytes` and the tag. */
export function datagramBuffer(bodyBytes: number): Uint8Array {
  const size = HEADER_BYTES + bodyBytes + AEAD_TAG_BYTES;
  if (size > SLAB_BYTES / 16) return new Uint8Array(size);
  if (slabUsed + size > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + size);
  slabUsed += size;
  return out;
}

/**
 * Writes the header of `data` (from `datagramBuffer`, its body already in place after the
 * header) and seals the body in place.
 */
export function sealInto(
  crypto: SwimCrypto,
  key: Uint8Array,
  data: Uint8Array,
  type: number,
  senderEpoch: number,
  receiverEpoch: number,
  counter: number,
  receiver: Uint8Array,
): void {
  writeHeader(data, type, senderEpoch, receiverEpoch, counter, crypto.publicKey);
  setAssociatedData(data, receiver);
  crypto.sealInPlace(key, counter, AAD, data.subarray(HEADER_BYTES));
}

/** Builds one encrypted datagram around an encoded `body`. */
export function sealDatagram(
  crypto: SwimCrypto,
  key: Uint8Array,
  type: number,
  senderEpoch: number,
  receiverEpoch: number,
  counter: number,
  receiver: Uint8Array,
  body: Uint8Array,
): Uint8Array {
  const data = datagramBuffer(body.length);
  data.set(body, HEADER_BYTES);
  sealInto(crypto, key, data, type, senderEpoch, receiverEpoch, counter, receiver);
  return data;
}

/**
 * Opens the body of `data` (its header already parsed: `counter` is the header's) sent to
 * `receiver`: the plaintext, or null when the tag does not verify.
 */
export function openDatagram(
  crypto: SwimCrypto,
  key: Uint8Array,
  data: Uint8Array,
  counter: number,
  receiver: Uint8Array,
): Uint8Array | null {
  setAssociatedData(data, receiver);
  return crypto.open(key, counter, AAD, data.subarray(HEADER_BYTES));
}
