/**
 * Synchronous Ed25519 for the org formats (the org key signs on the admin's machine; every
 * node verifies). Verification results are cached by (key, message, signature): gossip repeats
 * the same certificates and control messages many times.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { encodeHex } from "../encoding/base64.ts";

/** Signs `message` with a 32-byte Ed25519 seed. */
export function signEd25519(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed);
}

/** The public key of a 32-byte Ed25519 seed. */
export function publicKeyOfSeed(seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed);
}

const MAX_CACHED = 4096;
const verified = new Map<string, boolean>();

/** Verifies an Ed25519 signature (strict RFC 8032: no malleable or non-canonical encodings). */
export function verifyEd25519(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const id = encodeHex(publicKey) + encodeHex(signature) + encodeHex(message);
  const cached = verified.get(id);
  if (cached !== undefined) return cached;
  let ok: boolean;
  try {
    ok = ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    ok = false;
  }
  if (verified.size >= MAX_CACHED) verified.clear();
  verified.set(id, ok);
  return ok;
}
