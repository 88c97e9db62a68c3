/**
 * Tampering: flipping any single bit of the ciphertext, tag, AAD, nonce (or key) must make open
 * fail, and a failed open must leave the message and tag bytes exactly as they were.
 */

import assert from "node:assert/strict";
import type { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { coreFor, SeededRandom, seedFor, VARIANTS } from "./helpers.ts";

interface Placed {
  key: number;
  nonce: number;
  aad: number;
  data: number;
}

/** Puts key, nonce, aad and message in the arena and seals in place. */
function placeAndSeal(
  core: CryptoCore,
  x: boolean,
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  msg: Uint8Array,
): Placed {
  const base = core.layout.arenaBase;
  const p = { key: base, nonce: base + 32, aad: base + 64, data: base + 256 };
  core.bytes.set(key, p.key);
  core.bytes.set(nonce, p.nonce);
  core.bytes.set(aad, p.aad);
  core.bytes.set(msg, p.data);
  const seal = x ? core.exports.xaeadSeal : core.exports.aeadSeal;
  seal(p.key, p.nonce, p.aad, aad.length, p.data, msg.length);
  return p;
}

/** Flips bit `bit` at `addr`, opens, checks rejection and untouched bytes, flips back. */
function expectRejected(
  core: CryptoCore,
  x: boolean,
  p: Placed,
  aadLen: number,
  len: number,
  addr: number,
  bit: number,
  what: string,
): void {
  core.bytes[addr] ^= 1 << bit;
  const before = core.bytes.slice(p.data, p.data + len + 16);
  const open = x ? core.exports.xaeadOpen : core.exports.aeadOpen;
  const ok = open(p.key, p.nonce, p.aad, aadLen, p.data, len);
  assert.equal(ok, 0, `${what}: open accepted a flipped bit ${bit} at +${addr}`);
  const after = core.bytes.subarray(p.data, p.data + len + 16);
  assert.ok(
    after.every((b, i) => b === before[i]),
    `${what}: a failed open changed the buffer`,
  );
  core.bytes[addr] ^= 1 << bit;
}

for (const variant of VARIANTS) {
  for (const x of [false, true]) {
    const name = x ? "XChaCha20-Poly1305" : "ChaCha20-Poly1305";
    Deno.test(`[${variant}] ${name}: every flipped bit fails and leaves the buffer untouched`, async () => {
      const core = await coreFor(variant);
      const rng = new SeededRandom(seedFor(`tamper-${variant}-${x}`));
      const nonceLen = x ? 24 : 12;
      let flips = 0;
      for (const len of [0, 1, 15, 16, 17, 63, 64, 191, 192, 193, 255, 256, 257, 1420, 2048]) {
        const aadLen = len % 2 === 0 ? 13 : 0;
        const key = rng.bytes(32);
        const nonce = rng.bytes(nonceLen);
        const aad = rng.bytes(aadLen);
        const msg = rng.bytes(len);
        const p = placeAndSeal(core, x, key, nonce, aad, msg);
        // Every bit of short messages; a stride of bits through long ones (still every byte).
        const stride = len > 256 ? 5 : 1;
        for (let i = 0; i < len + 16; i++) {
          for (let bit = i % stride; bit < 8; bit += stride) {
            expectRejected(core, x, p, aadLen, len, p.data + i, bit, `len=${len} ct/tag`);
            flips++;
          }
        }
        for (let i = 0; i < aadLen; i++) {
          for (let bit = 0; bit < 8; bit++) {
            expectRejected(core, x, p, aadLen, len, p.aad + i, bit, `len=${len} aad`);
            flips++;
          }
        }
        for (let i = 0; i < nonceLen; i++) {
          for (let bit = 0; bit < 8; bit++) {
            expectRejected(core, x, p, aadLen, len, p.nonce + i, bit, `len=${len} nonce`);
            flips++;
          }
        }
        expectRejected(core, x, p, aadLen, len, p.key + rng.below(32), rng.below(8), "key");
        // Dropping or adding a byte of AAD must fail too (the length block is authenticated).
        if (aadLen > 0) {
          const open = x ? core.exports.xaeadOpen : core.exports.aeadOpen;
          assert.equal(open(p.key, p.nonce, p.aad, aadLen - 1, p.data, len), 0);
          assert.equal(open(p.key, p.nonce, p.aad, aadLen + 1, p.data, len), 0);
        }
        // And the untampered message still opens to the plaintext.
        const open = x ? core.exports.xaeadOpen : core.exports.aeadOpen;
        assert.equal(open(p.key, p.nonce, p.aad, aadLen, p.data, len), 1, `len=${len} intact`);
        assert.deepEqual(core.bytes.slice(p.data, p.data + len), msg);
      }
      assert.ok(flips > 10000, `only ${flips} flips`);
    });
  }
}
