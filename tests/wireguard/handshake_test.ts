import { assertEquals, assertTrue } from "../assert.ts";
import { decodeHex, encodeHex } from "../../lib/encoding/base64.ts";
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  initialChainingKeyAndHash,
  INITIATION,
} from "../../lib/wireguard/handshake.ts";
import { tai64n, tai64nAfter } from "../../lib/wireguard/tai64n.ts";
import { newStatic, primitives as p } from "./wireguard_fixture.ts";

const NO_PSK = new Uint8Array(32);

Deno.test("construction and identifier hashes are WireGuard's", () => {
  const { chainingKey, hash } = initialChainingKeyAndHash(p);
  const c = encodeHex(chainingKey);
  const h = encodeHex(hash);
  assertTrue(c.startsWith("60e26dae") && c.endsWith("8b78cd36"), c);
  assertTrue(h.startsWith("2211b361") && h.endsWith("ba079ef3"), h);
});

Deno.test("a full handshake gives both sides matching transport keys", () => {
  const initiator = newStatic();
  const responder = newStatic();
  for (const psk of [NO_PSK, p.randomBytes(32)]) {
    const timestamp = tai64n(Date.UTC(2026, 10, 22));
    const sent = createInitiation(p, initiator, responder.publicKey, 0x11223344, timestamp)!;
    assertEquals(sent.message.length, 148);
    assertEquals(encodeHex(sent.message.subarray(0, 8)), "0100000044332211");
    const consumed = consumeInitiation(p, responder, sent.message)!;
    assertEquals(consumed.remoteStatic, initiator.publicKey);
    assertEquals(consumed.remoteIndex, 0x11223344);
    assertEquals(consumed.timestamp, timestamp);
    const response = createResponse(p, consumed, 0x55667788, psk)!;
    assertEquals(response.message.length, 92);
    assertEquals(encodeHex(response.message.subarray(0, 12)), "020000008877665544332211");
    const keys = consumeResponse(p, initiator, sent.state, psk, response.message)!;
    assertEquals(keys.sendKey, response.keys.receiveKey);
    assertEquals(keys.receiveKey, response.keys.sendKey);
    assertTrue(encodeHex(keys.sendKey) !== encodeHex(keys.receiveKey));
    // The keys really carry data.
    const sealed = p.aeadSeal(keys.sendKey, 7n, new Uint8Array([1, 2, 3]), new Uint8Array(0));
    assertEquals(
      p.aeadOpen(response.keys.receiveKey, 7n, sealed, new Uint8Array(0)),
      new Uint8Array([1, 2, 3]),
    );
  }
});

Deno.test("mismatched preshared keys fail the response", () => {
  const initiator = newStatic();
  const responder = newStatic();
  const sent = createInitiation(p, initiator, responder.publicKey, 1, tai64n(1))!;
  const response = createResponse(
    p,
    consumeInitiation(p, responder, sent.message)!,
    2,
    p.randomBytes(32),
  )!;
  assertEquals(consumeResponse(p, initiator, sent.state, NO_PSK, response.message), null);
});

Deno.test("an initiation for another responder, or with any bit flipped, does not decrypt", () => {
  const initiator = newStatic();
  const responder = newStatic();
  const sent = createInitiation(p, initiator, responder.publicKey, 1, tai64n(1))!;
  assertEquals(consumeInitiation(p, newStatic(), sent.message), null);
  for (let bit = INITIATION.ephemeral * 8; bit < INITIATION.mac1 * 8; bit += 37) {
    const tampered = sent.message.slice();
    tampered[bit >> 3] ^= 1 << (bit & 7);
    assertEquals(consumeInitiation(p, responder, tampered), null, `bit ${bit}`);
  }
  assertEquals(consumeInitiation(p, responder, sent.message.subarray(0, 147)), null);
});

Deno.test("a tampered response does not authenticate", () => {
  const initiator = newStatic();
  const responder = newStatic();
  const sent = createInitiation(p, initiator, responder.publicKey, 1, tai64n(1))!;
  const response = createResponse(p, consumeInitiation(p, responder, sent.message)!, 2, NO_PSK)!;
  for (const byte of [12, 30, 43, 44, 59]) {
    const tampered = response.message.slice();
    tampered[byte] ^= 0x40;
    assertEquals(consumeResponse(p, initiator, sent.state, NO_PSK, tampered), null, `byte ${byte}`);
  }
});

Deno.test("low-order public keys are refused (no handshake with them)", () => {
  const lowOrder = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ];
  const initiator = newStatic();
  for (const hex of lowOrder) {
    assertEquals(p.dh(initiator.privateKey, decodeHex(hex)), null, hex);
    assertEquals(createInitiation(p, initiator, decodeHex(hex), 1, tai64n(1)), null, hex);
  }
});

Deno.test("TAI64N: later times compare later; sub-granularity nanoseconds are hidden", () => {
  const a = tai64n(1_700_000_000_000);
  const b = tai64n(1_700_000_000_100);
  assertTrue(tai64nAfter(b, a));
  assertTrue(!tai64nAfter(a, b));
  assertTrue(!tai64nAfter(a, a));
  assertEquals(encodeHex(tai64n(0)), "400000000000000a00000000");
  // 1 ms = 1,000,000 ns rounds down to a multiple of 2^25 ns (the largest power of two ≤ 50 ms).
  assertEquals(encodeHex(tai64n(1).subarray(8)), "00000000");
  assertEquals(encodeHex(tai64n(40).subarray(8)), "02000000");
});
