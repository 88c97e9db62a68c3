/**
 * Differential tests: our AEADs against libsodium-wrappers and our BLAKE2s/HMAC/KDF against
 * @noble/hashes, on seeded random inputs. Every result must be byte-equal.
 */

import { blake2s as nobleBlake2s } from "@noble/hashes/blake2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import {
  chacha20Poly1305Open,
  chacha20Poly1305Seal,
  xchacha20Poly1305Open,
  xchacha20Poly1305Seal,
} from "../../lib/crypto/aead.ts";
import { blake2s, hmacBlake2s, kdf } from "../../lib/crypto/blake2s.ts";
import { assertBytes, coreFor, loadSodium, SeededRandom, seedFor, VARIANTS } from "./helpers.ts";

/** Runs `body` with a seeded PRNG and names the seed if it throws. */
async function seeded(name: string, body: (rng: SeededRandom) => Promise<void> | void) {
  const rng = new SeededRandom(seedFor(name));
  try {
    await body(rng);
  } catch (error) {
    console.error(`failing seed for "${name}": ${rng.seed}`);
    throw error;
  }
}

/** Lengths 0..2048 (every one) plus 65,535 and 65,536. */
function lengths(step: number): number[] {
  const out: number[] = [];
  for (let n = 0; n <= 2048; n += step) out.push(n);
  // Around the stitched-open limit (192 + 2048 bytes) and past it, then the largest sizes.
  out.push(2239, 2240, 2241, 2497, 4099, 65535, 65536);
  return out;
}

for (const variant of VARIANTS) {
  const step = 1;

  Deno.test(`[${variant}] ChaCha20-Poly1305 equals libsodium (lengths 0..2048, 65535, 65536)`, async () => {
    const core = await coreFor(variant);
    const sodium = await loadSodium();
    await seeded(`aead-${variant}`, (rng) => {
      let cases = 0;
      for (const len of lengths(step)) {
        // Alternate no AAD / random AAD so both paths cover every length class.
        for (const aadLen of [0, 1 + rng.below(80)]) {
          const key = rng.bytes(32);
          const nonce = rng.bytes(12);
          const aad = rng.bytes(aadLen);
          const msg = rng.bytes(len);
          const ours = chacha20Poly1305Seal(core, key, nonce, msg, aad);
          const theirs = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
            msg,
            aadLen ? aad : null,
            null,
            nonce,
            key,
          );
          assertBytes(ours, theirs, `seal len=${len} aad=${aadLen}`);
          const opened = chacha20Poly1305Open(core, key, nonce, theirs, aad);
          if (!opened) throw new Error(`open of libsodium output failed len=${len} aad=${aadLen}`);
          assertBytes(opened, msg, `open len=${len} aad=${aadLen}`);
          cases++;
        }
      }
      if (cases < 1000 / step) throw new Error(`only ${cases} cases ran`);
    });
  });

  Deno.test(`[${variant}] XChaCha20-Poly1305 equals libsodium`, async () => {
    const core = await coreFor(variant);
    const sodium = await loadSodium();
    await seeded(`xaead-${variant}`, (rng) => {
      const sizes = [...lengths(step), 1 + rng.below(4000)];
      for (const len of sizes) {
        const aadLen = rng.below(2) ? 0 : 1 + rng.below(48);
        const key = rng.bytes(32);
        const nonce = rng.bytes(24);
        const aad = rng.bytes(aadLen);
        const msg = rng.bytes(len);
        const ours = xchacha20Poly1305Seal(core, key, nonce, msg, aad);
        const theirs = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
          msg,
          aadLen ? aad : null,
          null,
          nonce,
          key,
        );
        assertBytes(ours, theirs, `xseal len=${len} aad=${aadLen}`);
        const opened = xchacha20Poly1305Open(core, key, nonce, theirs, aad);
        if (!opened) throw new Error(`xopen failed len=${len}`);
        assertBytes(opened, msg, `xopen len=${len}`);
      }
    });
  });

  Deno.test(`[${variant}] BLAKE2s (unkeyed, keyed, 1..32-byte output) equals noble`, async () => {
    const core = await coreFor(variant);
    await seeded(`blake2s-${variant}`, (rng) => {
      for (let len = 0; len <= 1100; len += step) {
        const msg = rng.bytes(len);
        assertBytes(blake2s(core, msg), nobleBlake2s(msg), `blake2s len=${len}`);
        const outLen = 1 + rng.below(32);
        const key = rng.bytes(rng.below(33));
        assertBytes(
          blake2s(core, msg, { outLen, key }),
          nobleBlake2s(msg, { dkLen: outLen, key: key.length ? key : undefined }),
          `blake2s len=${len} out=${outLen} key=${key.length}`,
        );
      }
      for (const len of [65535, 65536]) {
        const msg = rng.bytes(len);
        assertBytes(blake2s(core, msg), nobleBlake2s(msg), `blake2s len=${len}`);
      }
    });
  });

  Deno.test(`[${variant}] incremental BLAKE2s with random chunking equals one-shot`, async () => {
    const core = await coreFor(variant);
    await seeded(`blake2s-stream-${variant}`, (rng) => {
      const state = core.layout.arenaBase;
      const data = state + 128;
      const out = data + 8192;
      for (let round = 0; round < 200; round++) {
        const msg = rng.bytes(rng.below(700));
        const key = rng.bytes(rng.below(2) ? 0 : 1 + rng.below(32));
        const outLen = 1 + rng.below(32);
        core.bytes.set(msg, data);
        core.bytes.set(key, out + 64);
        core.exports.blake2sInit(state, outLen, out + 64, key.length);
        let at = 0;
        while (at < msg.length) {
          const take = Math.min(msg.length - at, rng.below(150));
          core.exports.blake2sUpdate(state, data + at, take);
          at += take;
        }
        core.exports.blake2sFinal(state, out);
        assertBytes(
          core.bytes.slice(out, out + outLen),
          nobleBlake2s(msg, { dkLen: outLen, key: key.length ? key : undefined }),
          `round ${round}`,
        );
      }
    });
  });

  Deno.test(`[${variant}] HMAC-BLAKE2s and KDF1/2/3 equal noble hmac/hkdf`, async () => {
    const core = await coreFor(variant);
    await seeded(`hmac-${variant}`, (rng) => {
      for (let i = 0; i < 300; i++) {
        const key = rng.bytes([0, 16, 32, 64, 65, 100][i % 6]);
        const msg = rng.bytes(rng.below(300));
        assertBytes(hmacBlake2s(core, key, msg), hmac(nobleBlake2s, key, msg), `hmac ${i}`);
        const n = (1 + (i % 3)) as 1 | 2 | 3;
        const chainKey = rng.bytes(32);
        // WireGuard's KDF_n is HKDF with the chaining key as salt and an empty info.
        const expected = hkdf(nobleBlake2s, msg, chainKey, new Uint8Array(0), 32 * n);
        const got = kdf(core, n, chainKey, msg);
        assertBytes(new Uint8Array(got.flatMap((k) => [...k])), expected, `kdf${n} ${i}`);
      }
    });
  });
}
