/**
 * Synchronous Ed25519 for the controller (native `node:crypto`, so the sans-IO core and the
 * agent need no await): a signer from an identity seed, and a verifier that never throws.
 */

import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { decodeHex } from "../encoding/base64.ts";

const ED25519_PKCS8 = decodeHex("302e020100300506032b657004220420");
const ED25519_SPKI = decodeHex("302a300506032b6570032100");

function der(prefix: Uint8Array, key: Uint8Array): Buffer {
  const out = Buffer.alloc(prefix.length + key.length);
  out.set(prefix);
  out.set(key, prefix.length);
  return out;
}

/** Signs with the identity of a 32-byte seed, held in a native key (the seed may be wiped). */
export function ed25519Signer(seed: Uint8Array): (message: Uint8Array) => Uint8Array {
  const pkcs8 = der(ED25519_PKCS8, seed);
  const key = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  pkcs8.fill(0);
  return (message) => new Uint8Array(sign(null, message, key));
}

/** True when `signature` (64 bytes) is `publicKey`'s over `message`; false for any malformation. */
export function ed25519Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== 64) return false;
  try {
    const key = createPublicKey({ key: der(ED25519_SPKI, publicKey), format: "der", type: "spki" });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
