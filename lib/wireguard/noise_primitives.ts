/**
 * The primitives of WireGuard's Noise_IKpsk2 (paper §5.4) as one synchronous interface: HASH,
 * MAC, HMAC and KDF_n over BLAKE2s and AEAD/XAEAD from the wasm core, DH over X25519 from
 * node:crypto (native, synchronous, so the handshake engine stays a plain sans-IO function).
 */

import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import {
  blake2s,
  chacha20Poly1305Open,
  chacha20Poly1305Seal,
  kdf,
  xchacha20Poly1305Open,
  xchacha20Poly1305Seal,
} from "../crypto/mod.ts";
import type { CryptoCore } from "../crypto/crypto_core.ts";
import { decodeHex } from "../encoding/base64.ts";
import { COOKIE_LEN, KEY_LEN } from "./constants.ts";

/** What the handshake needs from cryptography; every call is synchronous. */
export interface NoisePrimitives {
  /** HASH(a ‖ b ‖ …): BLAKE2s-256. */
  hash(...parts: Uint8Array[]): Uint8Array;
  /** MAC(key, data): keyed BLAKE2s with a 16-byte output. */
  mac(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** KDF_n(key, input): n 32-byte outputs of HKDF over HMAC-BLAKE2s. */
  kdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[];
  /** AEAD(key, counter, plaintext, aad): ChaCha20-Poly1305 with nonce 0⁴ ‖ counter (LE). */
  aeadSeal(key: Uint8Array, counter: bigint, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Opens an AEAD; null when authentication fails. */
  aeadOpen(
    key: Uint8Array,
    counter: bigint,
    sealed: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array | null;
  /** XAEAD(key, nonce24, plaintext, aad): XChaCha20-Poly1305 (cookie replies). */
  xaeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Opens an XAEAD; null when authentication fails. */
  xaeadOpen(
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    aad: Uint8Array,
  ): Uint8Array | null;
  /** DH(private, public): X25519; null for a low-order public key (all-zero result). */
  dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null;
  /** A fresh clamped X25519 private key. */
  generatePrivateKey(): Uint8Array;
  /** DH_PUB(private): the X25519 public key. */
  publicKey(privateKey: Uint8Array): Uint8Array;
  /** Cryptographically random bytes. */
  randomBytes(length: number): Uint8Array;
}

const PKCS8_X25519_PREFIX = decodeHex("302e020100300506032b656e04220420");
const SPKI_X25519_PREFIX = decodeHex("302a300506032b656e032100");

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  const der = concat([PKCS8_X25519_PREFIX, privateKey]);
  const key = createPrivateKey({ key: der as unknown as Buffer, format: "der", type: "pkcs8" });
  der.fill(0);
  return key;
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const der = concat([SPKI_X25519_PREFIX, publicKey]);
  return createPublicKey({ key: der as unknown as Buffer, format: "der", type: "spki" });
}

function nonceForCounter(counter: bigint): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, counter, true);
  return nonce;
}

/** Binds the primitives to one wasm core instance (one per thread). */
export function createNoisePrimitives(core: CryptoCore): NoisePrimitives {
  return {
    hash: (...parts) => blake2s(core, concat(parts)),
    mac: (key, data) => blake2s(core, data, { key, outLen: COOKIE_LEN }),
    kdf: (n, key, input) => kdf(core, n, key, input),
    aeadSeal: (key, counter, plaintext, aad) =>
      chacha20Poly1305Seal(core, key, nonceForCounter(counter), plaintext, aad),
    aeadOpen: (key, counter, sealed, aad) =>
      chacha20Poly1305Open(core, key, nonceForCounter(counter), sealed, aad),
    xaeadSeal: (key, nonce, plaintext, aad) =>
      xchacha20Poly1305Seal(core, key, nonce, plaintext, aad),
    xaeadOpen: (key, nonce, sealed, aad) => xchacha20Poly1305Open(core, key, nonce, sealed, aad),
    dh(privateKey, publicKey) {
      let shared: Uint8Array;
      try {
        shared = new Uint8Array(
          diffieHellman({
            privateKey: privateKeyObject(privateKey),
            publicKey: publicKeyObject(publicKey),
          }),
        );
      } catch {
        // OpenSSL refuses a low-order point (its result would be all zeros).
        return null;
      }
      let any = 0;
      for (const byte of shared) any |= byte;
      return any === 0 ? null : shared;
    },
    generatePrivateKey() {
      const { privateKey } = generateKeyPairSync("x25519");
      const der = new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" }));
      const raw = der.slice(der.length - KEY_LEN);
      der.fill(0);
      return raw;
    },
    publicKey(privateKey) {
      const der = new Uint8Array(
        createPublicKey(privateKeyObject(privateKey)).export({ format: "der", type: "spki" }),
      );
      return der.slice(der.length - KEY_LEN);
    },
    randomBytes: (length) => crypto.getRandomValues(new Uint8Array(length)),
  };
}
