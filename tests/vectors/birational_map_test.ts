/**
 * Differential tests against libsodium (an independent implementation): the WireGuard key we
 * derive from an identity equals libsodium's Ed25519→X25519 conversion, and our public-key
 * validation agrees with libsodium's on random and crafted inputs.
 */

import { createRequire } from "node:module";
import { ed25519 } from "@noble/curves/ed25519.js";
import { assertEquals } from "../assert.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import { ed25519KeyProblem } from "../../lib/identity/ed25519_public_key.ts";
import { identityFromSeed } from "../../lib/identity/identity.ts";
import {
  deriveWireguardPrivateKey,
  deriveWireguardPublicKey,
  wireguardPublicKeyOf,
} from "../../lib/identity/wireguard_key.ts";

interface Sodium {
  ready: Promise<void>;
  crypto_sign_seed_keypair(seed: Uint8Array): { publicKey: Uint8Array; privateKey: Uint8Array };
  crypto_sign_ed25519_pk_to_curve25519(publicKey: Uint8Array): Uint8Array;
  crypto_sign_ed25519_sk_to_curve25519(secretKey: Uint8Array): Uint8Array;
}

const sodium: Sodium = createRequire(import.meta.url)("libsodium-wrappers");
await sodium.ready;

function sodiumAccepts(publicKey: Uint8Array): boolean {
  try {
    sodium.crypto_sign_ed25519_pk_to_curve25519(publicKey);
    return true;
  } catch {
    return false;
  }
}

Deno.test("500 random seeds: our keys and WireGuard keys equal libsodium's", async () => {
  for (let i = 0; i < 500; i++) {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const theirs = sodium.crypto_sign_seed_keypair(seed);
    const ours = await identityFromSeed(seed);
    assertEquals(encodeHex(ours.publicKey), encodeHex(theirs.publicKey), `seed ${encodeHex(seed)}`);
    assertEquals(
      encodeHex(deriveWireguardPrivateKey(seed)),
      encodeHex(sodium.crypto_sign_ed25519_sk_to_curve25519(theirs.privateKey)),
    );
    assertEquals(
      encodeHex(await deriveWireguardPublicKey(seed)),
      encodeHex(sodium.crypto_sign_ed25519_pk_to_curve25519(theirs.publicKey)),
    );
    // What a peer computes from our trusted Ed25519 key alone must be the same key.
    assertEquals(
      encodeHex(wireguardPublicKeyOf(theirs.publicKey)),
      encodeHex(sodium.crypto_sign_ed25519_pk_to_curve25519(theirs.publicKey)),
    );
  }
});

Deno.test("key validation agrees with libsodium on random, torsioned and small-order inputs", () => {
  const torsion = ed25519.Point.fromBytes(
    Uint8Array.from(
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a".match(/../g)!,
      (h) => parseInt(h, 16),
    ),
  );
  let accepted = 0;
  let checked = 0;
  const check = (bytes: Uint8Array) => {
    const problem = ed25519KeyProblem(bytes);
    // libsodium's conversion does not check y < p; we refuse those, so skip them here.
    if (problem === "non-canonical") return;
    checked++;
    if (problem === null) accepted++;
    assertEquals(problem === null, sodiumAccepts(bytes), `${encodeHex(bytes)}: ${problem}`);
  };
  for (let i = 0; i < 2000; i++) check(crypto.getRandomValues(new Uint8Array(32)));
  for (let i = 0; i < 200; i++) {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const valid = ed25519.Point.fromBytes(ed25519.getPublicKey(seed));
    check(valid.toBytes());
    check(valid.add(torsion).toBytes());
    check(valid.multiply(8n).toBytes());
  }
  for (let y = 0; y < 64; y++) {
    const bytes = new Uint8Array(32);
    bytes[0] = y;
    check(bytes);
    bytes[31] = 0x80;
    check(bytes);
  }
  assertEquals(checked > 2000, true);
  assertEquals(accepted >= 400, true, `only ${accepted} accepted`);
});
