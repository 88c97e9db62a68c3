/**
 * An INSECURE stand-in for SwimCrypto, for simulations and benchmarks of thousands of nodes
 * where real X25519/Ed25519 per node pair would dominate the run time. It keeps the shape of
 * the real thing (64-byte signatures, 16-byte tags, signer and tamper checks by a 32-bit
 * hash) so the engine's code paths are the same. Security tests never use it.
 */

import type { SwimCrypto } from "../../../lib/swim/swim_crypto.ts";

function hash32(seed: number, bytes: Uint8Array): number {
  let h = seed ^ 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value & 0xff;
  out[offset + 1] = (value >>> 8) & 0xff;
  out[offset + 2] = (value >>> 16) & 0xff;
  out[offset + 3] = value >>> 24;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) |
    (bytes[offset + 3] << 24)) >>> 0;
}

const SHARED = new Uint8Array(32).fill(7);

/** The stand-in for one node (its "public key" is any 32 bytes). */
export function createFastCrypto(publicKey: Uint8Array): SwimCrypto {
  return {
    publicKey,
    cheapKeys: true,
    sign(message) {
      const out = new Uint8Array(64);
      out.set(publicKey);
      writeU32(out, 32, hash32(hash32(0, publicKey), message));
      return out;
    },
    verify(key, message, signature) {
      for (let i = 0; i < 32; i++) if (signature[i] !== key[i]) return false;
      return readU32(signature, 32) === hash32(hash32(0, key), message);
    },
    sharedSecret: () => SHARED,
    sessionKey: () => SHARED,
    sealInPlace(_key, counter, aad, message) {
      const length = message.length - 16;
      message.fill(0, length);
      writeU32(message, length, hash32(counter, aad) ^ length);
    },
    open(_key, counter, aad, sealed) {
      if (sealed.length < 16) return null;
      const length = sealed.length - 16;
      if (readU32(sealed, length) !== ((hash32(counter, aad) ^ length) >>> 0)) return null;
      return sealed.subarray(0, length);
    },
  };
}
