/**
 * WireGuard handshakes per second on one core: both sides of a full Noise_IKpsk2 exchange in one
 * thread (initiator: initiation + MAC1; responder: MAC1 check, consume, response + MAC1;
 * initiator: MAC1 check, consume, transport keys), through the primitives the device uses
 * (BLAKE2s/AEAD in the wasm core, X25519 from node:crypto). Then the cost of each primitive, so
 * the figure can be explained: a handshake is 8 X25519 (2 of them static-static, the same for a
 * pair every time), 2 key generations and 2 public-key derivations, ~20 BLAKE2s-based KDF/HASH
 * calls and 4 AEADs.
 *
 * Run: deno task bench:handshake [seconds, default 5]
 */

import { loadCoreModule } from "../lib/crypto/core_module.ts";
import { CryptoCore } from "../lib/crypto/crypto_core.ts";
import { createCoreMemory, planMemoryLayout } from "../lib/crypto/memory_layout.ts";
import { CookieChecker, CookieJar } from "../lib/wireguard/cookie.ts";
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  type LocalStatic,
} from "../lib/wireguard/handshake.ts";
import { createNoisePrimitives, type NoisePrimitives } from "../lib/wireguard/noise_primitives.ts";
import { tai64n } from "../lib/wireguard/tai64n.ts";

const seconds = Number(Deno.args[0] ?? 5);
const layout = planMemoryLayout({ instances: 1, keySlots: 4, stagingBytes: 16384, arenaBytes: 0 });
const core = CryptoCore.instantiate(
  await loadCoreModule(),
  createCoreMemory(layout),
  layout,
  0,
);
const p = createNoisePrimitives(core);

function staticKey(primitives: NoisePrimitives): LocalStatic {
  const privateKey = primitives.generatePrivateKey();
  return { privateKey, publicKey: primitives.publicKey(privateKey) };
}

const initiator = staticKey(p);
const responder = staticKey(p);
const psk = new Uint8Array(32);
const toResponder = new CookieJar(p, responder.publicKey);
const toInitiator = new CookieJar(p, initiator.publicKey);
const responderChecker = new CookieChecker(p, responder.publicKey, 0);
const initiatorChecker = new CookieChecker(p, initiator.publicKey, 0);

/** One complete handshake; throws if any step fails (the bench must measure real work). */
function handshake(i: number): void {
  const initiation = createInitiation(p, initiator, responder.publicKey, i, tai64n(Date.now(), i));
  if (!initiation) throw new Error("createInitiation failed");
  toResponder.addMacs(initiation.message, 0);
  if (!responderChecker.checkMac1(initiation.message)) throw new Error("MAC1 of the initiation");
  const consumed = consumeInitiation(p, responder, initiation.message);
  if (!consumed) throw new Error("consumeInitiation failed");
  const response = createResponse(p, consumed, i + 1, psk);
  if (!response) throw new Error("createResponse failed");
  toInitiator.addMacs(response.message, 0);
  if (!initiatorChecker.checkMac1(response.message)) throw new Error("MAC1 of the response");
  const keys = consumeResponse(p, initiator, initiation.state, psk, response.message);
  if (!keys || keys.sendKey[0] !== response.keys.receiveKey[0]) throw new Error("keys differ");
}

/** Calls per second of `fn` over about `ms` milliseconds (after a short warm-up). */
function rate(ms: number, fn: (i: number) => void): number {
  for (let i = 0; i < 50; i++) fn(i);
  let count = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 20; i++) fn(count++);
    now = performance.now();
  }
  return count / ((now - start) / 1000);
}

const handshakes = rate(seconds * 1000, handshake);
console.log(
  `handshakes (initiation + response, both sides, one thread): ${handshakes.toFixed(0)}/s ` +
    `(${(1e6 / handshakes).toFixed(0)} µs each)`,
);
const ephemeral = p.generatePrivateKey();
const part = (name: string, perHandshake: number, fn: () => void) => {
  const perSecond = rate(300, fn);
  const us = 1e6 / perSecond;
  console.log(
    `  ${name.padEnd(34)} ${us.toFixed(1).padStart(6)} µs × ${perHandshake} = ${
      (us * perHandshake).toFixed(0).padStart(4)
    } µs`,
  );
};
console.log("where a handshake's time goes (per call × calls per handshake):");
part("X25519 (dh)", 8, () => p.dh(ephemeral, responder.publicKey));
part("X25519 key generation", 2, () => p.generatePrivateKey());
part("X25519 public key", 2, () => p.publicKey(ephemeral));
const key = new Uint8Array(32);
part("KDF_2 (HMAC-BLAKE2s)", 8, () => p.kdf(2, key, key));
part("HASH (BLAKE2s)", 12, () => p.hash(key, key));
part("AEAD seal (48 B)", 3, () => p.aeadSeal(key, 0n, key, key));
