/**
 * The crypto the SWIM engine needs, behind one small synchronous interface (a sans-IO engine
 * cannot await). `createSwimCrypto` is the real one: native Ed25519 and X25519 from
 * `node:crypto`, ChaCha20-Poly1305, SHA-256 key derivation. Simulations of thousands of nodes
 * may pass a cheap stand-in; every security test uses this one.
 */

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { Buffer } from "node:buffer";
import { ed25519 } from "@noble/curves/ed25519.js";
import { decodeHex } from "../encoding/base64.ts";
import { deriveWireguardPrivateKey } from "../identity/wireguard_key.ts";
import { SESSION_KEY_CONTEXT } from "./constants.ts";
import { writeU64 } from "./header.ts";

/** Signs with our identity; the part of SwimCrypto record builders need. */
export interface SwimSigner {
  /** Our Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Ed25519 signature (64 bytes) of `message`. */
  sign(message: Uint8Array): Uint8Array;
}

/** Everything cryptographic the engine does; all synchronous. */
export interface SwimCrypto extends SwimSigner {
  /** Verifies an Ed25519 signature by `publicKey`. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /**
   * Static-static X25519 between our WireGuard key and the peer's, the peer's computed from its
   * trusted Ed25519 key by the birational map (never from gossip). Null for a degenerate result.
   */
  sharedSecret(peer: Uint8Array): Uint8Array | null;
  /**
   * True when `sharedSecret` and `sessionKey` cost next to nothing (the simulator's insecure
   * stand-in): the engine then derives them at each use instead of caching three keys per
   * member it talks to (at 5,000 simulated members, 27 million cache entries). Real crypto
   * leaves it unset: an X25519 per datagram would cost more than the datagram.
   */
  readonly cheapKeys?: boolean;
  /** One direction's session key: bound to both keys and both boot epochs. */
  sessionKey(
    shared: Uint8Array,
    sender: Uint8Array,
    receiver: Uint8Array,
    senderEpoch: number,
    receiverEpoch: number,
  ): Uint8Array;
  /**
   * ChaCha20-Poly1305 seal with nonce = counter u64 LE ‖ 0u32, in place: `message` holds the
   * plaintext followed by 16 spare bytes; it ends up as ciphertext ‖ tag (the datagram is
   * built once, with no copy of the sealed result).
   */
  sealInPlace(key: Uint8Array, counter: number, aad: Uint8Array, message: Uint8Array): void;
  /** Opens what `seal` made; null when the tag does not verify. */
  open(key: Uint8Array, counter: number, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null;
}

const ED25519_PKCS8 = decodeHex("302e020100300506032b657004220420");
const ED25519_SPKI = decodeHex("302a300506032b6570032100");
const X25519_PKCS8 = decodeHex("302e020100300506032b656e04220420");
const X25519_SPKI = decodeHex("302a300506032b656e032100");

function der(prefix: Uint8Array, key: Uint8Array): Buffer {
  const out = Buffer.alloc(prefix.length + key.length);
  out.set(prefix);
  out.set(key, prefix.length);
  return out;
}

/** The nonce of one seal or open; createCipheriv copies it, so one buffer serves every call. */
const NONCE = new Uint8Array(12);

function nonceOf(counter: number): Uint8Array {
  writeU64(NONCE, 0, counter);
  return NONCE;
}

/** Public keys imported for verification, kept so each is parsed once (bounded). */
const MAX_CACHED_KEYS = 8192;

/**
 * The real SwimCrypto for an identity seed (32 bytes) and its Ed25519 public key. The seed is
 * copied into native key objects; the caller may wipe its copy afterwards.
 */
export function createSwimCrypto(seed: Uint8Array, publicKey: Uint8Array): SwimCrypto {
  const pkcs8 = der(ED25519_PKCS8, seed);
  const signingKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  pkcs8.fill(0);
  const scalar = deriveWireguardPrivateKey(seed);
  const xPkcs8 = der(X25519_PKCS8, scalar);
  const dhKey = createPrivateKey({ key: xPkcs8, format: "der", type: "pkcs8" });
  scalar.fill(0);
  xPkcs8.fill(0);
  const verifyKeys = new Map<string, KeyObject>();
  const ownKey = publicKey.slice();
  return {
    publicKey: ownKey,
    sign: (message) => new Uint8Array(sign(null, message, signingKey)),
    verify(key, message, signature) {
      const id = String.fromCharCode.apply(null, key as unknown as number[]);
      let object = verifyKeys.get(id);
      if (object === undefined) {
        try {
          object = createPublicKey({ key: der(ED25519_SPKI, key), format: "der", type: "spki" });
        } catch {
          return false;
        }
        if (verifyKeys.size >= MAX_CACHED_KEYS) verifyKeys.clear();
        verifyKeys.set(id, object);
      }
      try {
        return verify(null, message, object, signature);
      } catch {
        return false;
      }
    },
    sharedSecret(peer) {
      try {
        const montgomery = ed25519.utils.toMontgomery(peer);
        const peerKey = createPublicKey({
          key: der(X25519_SPKI, montgomery),
          format: "der",
          type: "spki",
        });
        const shared = new Uint8Array(diffieHellman({ privateKey: dhKey, publicKey: peerKey }));
        // A low-order peer point yields all zeros: refuse rather than key a session with it.
        if (shared.every((byte) => byte === 0)) return null;
        return shared;
      } catch {
        return null;
      }
    },
    sessionKey(shared, sender, receiver, senderEpoch, receiverEpoch) {
      const epochs = new Uint8Array(16);
      writeU64(epochs, 0, senderEpoch);
      writeU64(epochs, 8, receiverEpoch);
      return new Uint8Array(
        createHash("sha256").update(SESSION_KEY_CONTEXT).update(shared).update(sender)
          .update(receiver).update(epochs).digest(),
      );
    },
    sealInPlace(key, counter, aad, message) {
      const length = message.length - 16;
      const cipher = createCipheriv("chacha20-poly1305", key, nonceOf(counter), {
        authTagLength: 16,
      });
      cipher.setAAD(aad, { plaintextLength: length });
      // node:crypto has no in-place update: its output is copied over the plaintext once.
      const body = cipher.update(message.subarray(0, length));
      cipher.final();
      message.set(body);
      message.set(cipher.getAuthTag(), length);
    },
    open(key, counter, aad, sealed) {
      if (sealed.length < 16) return null;
      try {
        const decipher = createDecipheriv("chacha20-poly1305", key, nonceOf(counter), {
          authTagLength: 16,
        });
        decipher.setAAD(aad, { plaintextLength: sealed.length - 16 });
        decipher.setAuthTag(sealed.subarray(sealed.length - 16));
        const body = decipher.update(sealed.subarray(0, sealed.length - 16));
        decipher.final();
        return new Uint8Array(body.buffer, body.byteOffset, body.length);
      } catch {
        return null;
      }
    },
  };
}
