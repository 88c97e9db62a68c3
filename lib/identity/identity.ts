/**
 * The node's Ed25519 identity and its key-file encodings, byte-compatible with the original
 * meshguard: `identity.key` is padded base64 of seed(32) ‖ public key(32) plus "\n"
 * (88 characters), `identity.pub` is padded base64 of the public key plus "\n".
 */

import { decodeBase64Strict, decodeHex, encodeBase64 } from "../encoding/base64.ts";
import { IdentityError } from "../errors.ts";
import { constantTimeEqual } from "../encoding/constant_time.ts";

/** Length of an Ed25519 private seed. */
export const ED25519_SEED_LENGTH = 32;

/** Characters of base64 in `identity.key` (64 bytes, padded). */
export const IDENTITY_KEY_BASE64_LENGTH = 88;

/** A node identity: the secret seed and the public key it determines. */
export interface Identity {
  /** The 32-byte Ed25519 seed (secret). Zero it with `wipeIdentity` when done. */
  readonly seed: Uint8Array;
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows it. */
const PKCS8_ED25519_PREFIX = decodeHex("302e020100300506032b657004220420");

function decodeBase64Url(text: string): Uint8Array {
  const standard = text.replaceAll("-", "+").replaceAll("_", "/");
  const padded = standard + "=".repeat((4 - standard.length % 4) % 4);
  return decodeBase64Strict(padded);
}

/** Imports a seed as a WebCrypto Ed25519 signing key. */
export function importSigningKey(seed: Uint8Array): Promise<CryptoKey> {
  const pkcs8 = new Uint8Array(PKCS8_ED25519_PREFIX.length + ED25519_SEED_LENGTH);
  pkcs8.set(PKCS8_ED25519_PREFIX);
  pkcs8.set(seed, PKCS8_ED25519_PREFIX.length);
  return crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"])
    .finally(() => pkcs8.fill(0));
}

/** Computes the identity (public key) belonging to a 32-byte seed. */
export async function identityFromSeed(seed: Uint8Array): Promise<Identity> {
  if (seed.length !== ED25519_SEED_LENGTH) {
    throw new IdentityError(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  }
  const key = await importSigningKey(seed);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  if (typeof jwk.x !== "string") throw new IdentityError("WebCrypto did not export a public key");
  return { seed: seed.slice(), publicKey: decodeBase64Url(jwk.x) };
}

/** Generates a fresh identity from the operating system's CSPRNG. */
export async function generateIdentity(): Promise<Identity> {
  const seed = crypto.getRandomValues(new Uint8Array(ED25519_SEED_LENGTH));
  try {
    return await identityFromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/** Signs a message with the identity (Ed25519, RFC 8032). */
export async function signWithIdentity(
  identity: Identity,
  message: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array> {
  const key = await importSigningKey(identity.seed);
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, message));
}

/** Overwrites the secret seed with zeros. */
export function wipeIdentity(identity: Identity): void {
  identity.seed.fill(0);
}

/** The exact text of `identity.key` for an identity. */
export function encodeIdentityKeyFile(identity: Identity): string {
  const secret = new Uint8Array(64);
  secret.set(identity.seed);
  secret.set(identity.publicKey, 32);
  const text = encodeBase64(secret) + "\n";
  secret.fill(0);
  return text;
}

/** The exact text of `identity.pub` for an identity. */
export function encodePublicKeyFile(publicKey: Uint8Array): string {
  return encodeBase64(publicKey) + "\n";
}

/**
 * Parses `identity.key` text and checks that its public half really belongs to its seed,
 * so a hand-edited or truncated file is reported instead of silently used.
 */
export async function decodeIdentityKeyFile(text: string, path: string): Promise<Identity> {
  const trimmed = text.replace(/[\r\n ]+$/, "");
  if (trimmed.length !== IDENTITY_KEY_BASE64_LENGTH) {
    throw new IdentityError(
      `${path} is corrupt: expected ${IDENTITY_KEY_BASE64_LENGTH} base64 characters, found ${trimmed.length}; restore it from a backup or run 'meshguard keygen --force' (this changes your identity)`,
    );
  }
  let secret: Uint8Array;
  try {
    secret = decodeBase64Strict(trimmed, path);
  } catch {
    throw new IdentityError(`${path} is corrupt: not valid base64`);
  }
  const seed = secret.slice(0, 32);
  const storedPublicKey = secret.slice(32);
  secret.fill(0);
  const identity = await identityFromSeed(seed);
  seed.fill(0);
  if (!constantTimeEqual(identity.publicKey, storedPublicKey)) {
    wipeIdentity(identity);
    throw new IdentityError(
      `${path} is corrupt: its public key does not belong to its seed`,
    );
  }
  return identity;
}
