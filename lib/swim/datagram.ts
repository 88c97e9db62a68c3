/**
 * Sealing an encrypted SWIM datagram: header (cleartext, authenticated) ‖ ChaCha20-Poly1305
 * of the body under the per-direction session key. The associated data is the header plus
 * the receiver's public key, so a datagram cannot be reflected back or redirected to another
 * member.
 */

import { HEADER_BYTES, PUBLIC_KEY_BYTES } from "./constants.ts";
import { writeHeader } from "./header.ts";
import type { SwimCrypto } from "./swim_crypto.ts";

/** The AEAD associated data: the 64-byte header followed by the receiver's key. */
export function associatedData(header: Uint8Array, receiver: Uint8Array): Uint8Array {
  const aad = new Uint8Array(HEADER_BYTES + PUBLIC_KEY_BYTES);
  aad.set(header.subarray(0, HEADER_BYTES));
  aad.set(receiver, HEADER_BYTES);
  return aad;
}

/** Builds one encrypted datagram. */
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
  const aad = new Uint8Array(HEADER_BYTES + PUBLIC_KEY_BYTES);
  writeHeader(aad, type, senderEpoch, receiverEpoch, counter, crypto.publicKey);
  aad.set(receiver, HEADER_BYTES);
  const sealed = crypto.seal(key, counter, aad, body);
  const data = new Uint8Array(HEADER_BYTES + sealed.length);
  data.set(aad.subarray(0, HEADER_BYTES));
  data.set(sealed, HEADER_BYTES);
  return data;
}
