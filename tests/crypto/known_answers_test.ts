/**
 * Known answers: RFC 8439 §2.1-2.8 and Appendix A.1-A.5, RFC 7693 Appendix B, the
 * draft-irtf-cfrg-xchacha vectors (§2.2.1 HChaCha20, §A.3.1 AEAD) and WireGuard's
 * construction and identifier hashes. Every vector runs on both builds.
 */

import assert from "node:assert/strict";
import {
  chacha20Poly1305Open,
  chacha20Poly1305Seal,
  xchacha20Poly1305Open,
  xchacha20Poly1305Seal,
} from "../../lib/crypto/aead.ts";
import { blake2s } from "../../lib/crypto/blake2s.ts";
import type { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { assertBytes, coreFor, hex, toHex, VARIANTS } from "./helpers.ts";
import {
  A1_BLOCKS,
  A2_ENCRYPTION,
  A3_POLY1305,
  A4_KEYGEN,
  A5_AEAD,
  SECTION2,
} from "./rfc8439_vectors.ts";

const KEY_00_1F = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
const SUNSCREEN = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);

/** Bump allocator over the core's arena, reset per test. */
function arena(core: CryptoCore) {
  let next = core.layout.arenaBase;
  return (bytes: Uint8Array | number): number => {
    const at = next;
    const len = typeof bytes === "number" ? bytes : bytes.length;
    if (typeof bytes !== "number") core.bytes.set(bytes, at);
    else core.bytes.fill(0, at, at + len);
    next += Math.ceil((len + 1) / 16) * 16;
    return at;
  };
}

function chachaBlock(core: CryptoCore, key: Uint8Array, nonce: Uint8Array, counter: number) {
  const put = arena(core);
  const k = put(key), n = put(nonce), out = put(64);
  core.exports.chacha20Block(k, n, counter, out);
  return core.bytes.slice(out, out + 64);
}

function chachaXor(
  core: CryptoCore,
  key: Uint8Array,
  nonce: Uint8Array,
  counter: number,
  data: Uint8Array,
) {
  const put = arena(core);
  const k = put(key), n = put(nonce), d = put(data);
  core.exports.chacha20Xor(k, n, counter, d, data.length);
  return core.bytes.slice(d, d + data.length);
}

function poly1305(core: CryptoCore, key: Uint8Array, message: Uint8Array) {
  const put = arena(core);
  const k = put(key), m = put(message), out = put(16);
  core.exports.poly1305(k, m, message.length, out);
  return core.bytes.slice(out, out + 16);
}

for (const variant of VARIANTS) {
  Deno.test(`[${variant}] RFC 8439 §2.1.1 quarter round and §2.2.1 quarter round on the state`, async () => {
    const core = await coreFor(variant);
    const put = arena(core);
    const words = (list: number[]) => new Uint8Array(new Uint32Array(list).buffer);
    const st = put(
      words([0x11111111, 0x01020304, 0x9b8d6f43, 0x01234567, ...new Array(12).fill(0)]),
    );
    core.exports.chacha20QuarterRound(st, 0, 1, 2, 3);
    const after = new Uint32Array(core.bytes.slice(st, st + 16).buffer);
    assert.deepEqual([...after], [0xea2a92f4, 0xcb1cf8ce, 0x4581472e, 0x5881c4bb]);

    const state = [
      0x879531e0,
      0xc5ecf37d,
      0x516461b1,
      0xc9a62f8a,
      0x44c20ef3,
      0x3390af7f,
      0xd9fc690b,
      0x2a5f714c,
      0x53372767,
      0xb00a5631,
      0x974c541a,
      0x359e9963,
      0x5c971061,
      0x3d631689,
      0x2098d9d6,
      0x91dbd320,
    ];
    const expected = [...state];
    expected[2] = 0xbdb886dc;
    expected[7] = 0xcfacafd2;
    expected[8] = 0xe46bea80;
    expected[13] = 0xccc07c79;
    const st2 = put(words(state));
    core.exports.chacha20QuarterRound(st2, 2, 7, 8, 13);
    assert.deepEqual([...new Uint32Array(core.bytes.slice(st2, st2 + 64).buffer)], expected);
  });

  Deno.test(`[${variant}] RFC 8439 §2.3.2 block function and A.1 #1-#5`, async () => {
    const core = await coreFor(variant);
    const block = chachaBlock(core, KEY_00_1F, hex("000000090000004a00000000"), 1);
    assertBytes(block, hex(SECTION2.s232_block), "§2.3.2");
    for (const [i, v] of A1_BLOCKS.entries()) {
      const out = chachaBlock(core, hex(v.key), hex(v.nonce), v.counter);
      assertBytes(out, hex(v.keystream), `A.1 #${i + 1}`);
    }
  });

  Deno.test(`[${variant}] RFC 8439 §2.4.2 encryption and A.2 #1-#3`, async () => {
    const core = await coreFor(variant);
    const ct = chachaXor(
      core,
      KEY_00_1F,
      hex("000000000000004a00000000"),
      1,
      hex(SECTION2.s242_plaintext),
    );
    assertBytes(ct, hex(SECTION2.s242_ciphertext), "§2.4.2");
    for (const [i, v] of A2_ENCRYPTION.entries()) {
      const out = chachaXor(core, hex(v.key), hex(v.nonce), v.counter, hex(v.plaintext));
      assertBytes(out, hex(v.ciphertext), `A.2 #${i + 1}`);
      const back = chachaXor(core, hex(v.key), hex(v.nonce), v.counter, out);
      assertBytes(back, hex(v.plaintext), `A.2 #${i + 1} decrypt`);
    }
  });

  Deno.test(`[${variant}] RFC 8439 §2.5.2 Poly1305 and A.3 #1-#11`, async () => {
    const core = await coreFor(variant);
    const key = hex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
    assertBytes(
      poly1305(core, key, hex(SECTION2.s252_message)),
      hex("a8061dc1305136c6c22b8baf0c0127a9"),
      "§2.5.2",
    );
    for (const [i, v] of A3_POLY1305.entries()) {
      assertBytes(poly1305(core, hex(v.key), hex(v.message)), hex(v.tag), `A.3 #${i + 1}`);
    }
  });

  Deno.test(`[${variant}] RFC 8439 §2.6.2 and A.4 #1-#3 Poly1305 key generation`, async () => {
    const core = await coreFor(variant);
    const otk = chachaBlock(core, hex(SECTION2.s262_key), hex(SECTION2.s262_nonce), 0).slice(0, 32);
    assertBytes(otk, hex(SECTION2.s262_out), "§2.6.2");
    for (const [i, v] of A4_KEYGEN.entries()) {
      const key = chachaBlock(core, hex(v.key), hex(v.nonce), 0).slice(0, 32);
      assertBytes(key, hex(v.otk), `A.4 #${i + 1}`);
    }
  });

  Deno.test(`[${variant}] RFC 8439 §2.8.2 AEAD seal and open`, async () => {
    const core = await coreFor(variant);
    const nonce = new Uint8Array([...hex(SECTION2.s282_fixed), ...hex(SECTION2.s282_iv)]);
    const key = hex(SECTION2.s282_key);
    const aad = hex(SECTION2.s282_aad);
    // §2.8.2 also prints the one-time key: block 0 under the same key and nonce.
    assertBytes(chachaBlock(core, key, nonce, 0).slice(0, 32), hex(SECTION2.s282_polykey), "otk");
    const sealed = chacha20Poly1305Seal(core, key, nonce, hex(SECTION2.s282_plaintext), aad);
    assertBytes(
      sealed,
      new Uint8Array([
        ...hex(SECTION2.s282_ciphertext),
        ...hex("1ae10b594f09e26a7e902ecbd0600691"),
      ]),
      "§2.8.2 ciphertext ‖ tag",
    );
    const opened = chacha20Poly1305Open(core, key, nonce, sealed, aad);
    assertBytes(opened!, hex(SECTION2.s282_plaintext), "§2.8.2 open");
  });

  Deno.test(`[${variant}] RFC 8439 A.5 AEAD decryption`, async () => {
    const core = await coreFor(variant);
    const sealed = new Uint8Array([...hex(A5_AEAD.ciphertext), ...hex(A5_AEAD.tag)]);
    const opened = chacha20Poly1305Open(
      core,
      hex(A5_AEAD.key),
      hex(A5_AEAD.nonce),
      sealed,
      hex(A5_AEAD.aad),
    );
    assertBytes(opened!, hex(A5_AEAD.plaintext), "A.5 plaintext");
    const resealed = chacha20Poly1305Seal(
      core,
      hex(A5_AEAD.key),
      hex(A5_AEAD.nonce),
      opened!,
      hex(A5_AEAD.aad),
    );
    assertBytes(resealed, sealed, "A.5 reseal");
  });

  Deno.test(`[${variant}] draft-irtf-cfrg-xchacha §2.2.1 HChaCha20 and §A.3.1 AEAD`, async () => {
    const core = await coreFor(variant);
    const put = arena(core);
    const k = put(KEY_00_1F), n = put(hex("000000090000004a0000000031415927")), out = put(32);
    core.exports.hchacha20(k, n, out);
    assert.deepEqual(
      toHex(core.bytes.slice(out, out + 32)),
      "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc",
    );
    const key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    const nonce = hex("404142434445464748494a4b4c4d4e4f5051525354555657");
    const aad = hex("50515253c0c1c2c3c4c5c6c7");
    const sealed = xchacha20Poly1305Seal(core, key, nonce, SUNSCREEN, aad);
    assert.deepEqual(
      toHex(sealed),
      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb" +
        "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452" +
        "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9" +
        "21f9664c97637da9768812f615c68b13b52e" + "c0875924c1c7987947deafd8780acf49",
    );
    assertBytes(xchacha20Poly1305Open(core, key, nonce, sealed, aad)!, SUNSCREEN, "xchacha open");
  });

  Deno.test(`[${variant}] RFC 7693 Appendix B: BLAKE2s-256("abc")`, async () => {
    const core = await coreFor(variant);
    assert.deepEqual(
      toHex(blake2s(core, new TextEncoder().encode("abc"))),
      "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
    );
  });

  Deno.test(`[${variant}] WireGuard construction and identifier hashes`, async () => {
    const core = await coreFor(variant);
    const enc = new TextEncoder();
    const construction = blake2s(core, enc.encode("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"));
    assert.deepEqual(
      toHex(construction),
      "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36",
    );
    const identifier = blake2s(
      core,
      new Uint8Array([...construction, ...enc.encode("WireGuard v1 zx2c4 Jason@zx2c4.com")]),
    );
    assert.deepEqual(
      toHex(identifier),
      "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3",
    );
  });
}
