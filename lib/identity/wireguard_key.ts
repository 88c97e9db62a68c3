/**
 * The node's WireGuard (X25519) key, derived from its Ed25519 seed exactly as the original
 * meshguard and libsodium do: private = clamp(SHA-512(seed)[0..32]). Its public key equals
 * the Ed25519→X25519 birational map of the identity public key, which is what lets a peer
 * compute our WireGuard key from our trusted Ed25519 key alone (design invariant 3).
 */

import { createHash } from "node:crypto";
import { ed25519 } from "@noble/curves/ed25519.js";
import { decodeBase64Strict, decodeHex } from "../encoding/base64.ts";
import { MeshguardError } from "../errors.ts";

/** Length of X25519 keys. */
export const X25519_KEY_LENGTH = 32;

/** DER prefix of a PKCS#8 X25519 private key; the 32-byte scalar follows it. */
const PKCS8_X25519_PREFIX = decodeHex("302e020100300506032b656e04220420");

/** Applies the X25519 scalar clamping of RFC 7748 §5 in place. */
export function clampX25519Scalar(scalar: Uint8Array): Uint8Array {
  scalar[0] &= 248;
  scalar[31] &= 127;
  scalar[31] |= 64;
  return scalar;
}

/** Derives the WireGuard private key from an Ed25519 seed: clamp(SHA-512(seed)[0..32]). */
export function deriveWireguardPrivateKey(seed: Uint8Array): Uint8Array {
  const digest = new Uint8Array(createHash("sha512").update(seed).digest());
  const scalar = clampX25519Scalar(digest.slice(0, 32));
  digest.fill(0);
  return scalar;
}

/** Imports a 32-byte X25519 private scalar as a WebCrypto key. */
export function importX25519PrivateKey(privateKey: Uint8Array): Promise<CryptoKey> {
  const pkcs8 = new Uint8Array(PKCS8_X25519_PREFIX.length + X25519_KEY_LENGTH);
  pkcs8.set(PKCS8_X25519_PREFIX);
  pkcs8.set(privateKey, PKCS8_X25519_PREFIX.length);
  return crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, true, ["deriveBits"])
    .finally(() => pkcs8.fill(0));
}

/** Computes the X25519 public key of a private scalar. */
export async function x25519PublicKey(privateKey: Uint8Array): Promise<Uint8Array> {
  const key = await importX25519PrivateKey(privateKey);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  if (typeof jwk.x !== "string") throw new MeshguardError("WebCrypto did not export an X25519 key");
  const standard = jwk.x.replaceAll("-", "+").replaceAll("_", "/");
  return decodeBase64Strict(standard + "=".repeat((4 - standard.length % 4) % 4));
}

/** Derives the WireGuard public key of an identity from its seed. */
export async function deriveWireguardPublicKey(seed: Uint8Array): Promise<Uint8Array> {
  const privateKey = deriveWireguardPrivateKey(seed);
  try {
    return await x25519PublicKey(privateKey);
  } finally {
    privateKey.fill(0);
  }
}

/**
 * A peer's WireGuard public key, computed from its (trusted, validated) Ed25519 public key by
 * the birational map — never learned from the network (security invariant 3).
 */
export function wireguardPublicKeyOf(ed25519PublicKey: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomery(ed25519PublicKey);
}
