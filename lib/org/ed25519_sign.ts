/**
 * Synchronous Ed25519 for the org formats (the org key signs on the admin's machine; every
 * node verifies). Verification results are cached by (key, message, signature): gossip repeats
 * the same certificates and control messages many times.
 */

import { Buffer } from "node:buffer";
import { createPublicKey, verify } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { decodeHex, encodeHex } from "../encoding/base64.ts";

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32-byte key follows. */
const SPKI_PREFIX = decodeHex("302a300506032b6570032100");

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
    // Native (OpenSSL, RFC 8032): ~20x faster than JS, and gossip may bring many to check.
    const spki = new Uint8Array(SPKI_PREFIX.length + 32);
    spki.set(SPKI_PREFIX);
    spki.set(publicKey, SPKI_PREFIX.length);
    const key = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
    ok = publicKey.length === 32 && signature.length === 64 &&
      verify(null, message, key, signature);
  } catch {
    ok = false;
  }
  if (verified.size >= MAX_CACHED) verified.clear();
  verified.set(id, ok);
  return ok;
}
