/** The punch request codec (issue 13): layout, signature binding, and what decoding refuses. */

import { assertEquals, assertThrows, assertTrue } from "../assert.ts";
import { readU64, writeU64 } from "../../lib/swim/header.ts";
import {
  decodePunchRequest,
  makePunchRequest,
  PUNCH_REQUEST_BYTES,
  verifyPunchRequest,
} from "../../lib/swim/punch_request.ts";
import { SwimDecodeError } from "../../lib/swim/swim_errors.ts";
import { createFastCrypto } from "./sim/fast_crypto.ts";

const alice = createFastCrypto(new Uint8Array(32).fill(1));
const bob = createFastCrypto(new Uint8Array(32).fill(2));
const verify = (key: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
  alice.verify(key, message, signature);

Deno.test("punch request: 152 bytes laid out as documented, round trip, signature verifies", () => {
  const request = makePunchRequest(alice, 1_700_000_000_000, bob.publicKey, 42, 7);
  assertEquals(PUNCH_REQUEST_BYTES, 152);
  assertEquals(request.bytes.length, 152);
  assertEquals([...request.bytes.subarray(0, 32)], [...alice.publicKey]);
  assertEquals(readU64(request.bytes, 32), 1_700_000_000_000);
  assertEquals([...request.bytes.subarray(40, 72)], [...bob.publicKey]);
  assertEquals(readU64(request.bytes, 72), 42);
  assertEquals(readU64(request.bytes, 80), 7);
  const decoded = decodePunchRequest(request.bytes);
  assertEquals(decoded.requesterEpoch, 1_700_000_000_000);
  assertEquals(decoded.targetEpoch, 42);
  assertEquals(decoded.nonce, 7);
  assertEquals([...decoded.target], [...bob.publicKey]);
  assertTrue(verifyPunchRequest(decoded, verify));
});

Deno.test("punch request: every signed field is bound; another signer's request does not verify", () => {
  const request = makePunchRequest(alice, 10, bob.publicKey, 20, 30);
  for (const offset of [0, 32, 40, 72, 80, 100]) {
    const bytes = request.bytes.slice();
    bytes[offset] ^= 1;
    let decoded;
    try {
      decoded = decodePunchRequest(bytes);
    } catch {
      continue;
    }
    assertTrue(!verifyPunchRequest(decoded, verify), `flipping byte ${offset} still verifies`);
  }
  // Bob signs a request that names Alice as its requester: not hers.
  const forger = { publicKey: alice.publicKey, sign: (m: Uint8Array) => bob.sign(m) };
  const forged = makePunchRequest(forger, 10, bob.publicKey, 20, 31);
  assertTrue(!verifyPunchRequest(decodePunchRequest(forged.bytes), verify));
});

Deno.test("punch request: wrong length, zero epochs and u64 past 2^53 are decode errors", () => {
  const good = makePunchRequest(alice, 10, bob.publicKey, 20, 30).bytes;
  const cases: [string, Uint8Array][] = [
    ["bad-length", good.subarray(0, 151)],
    ["bad-length", Uint8Array.of(...good, 0)],
  ];
  for (const [offset, value] of [[32, 0], [72, 0]] as const) {
    const bytes = good.slice();
    writeU64(bytes, offset, value);
    cases.push(["bad-epoch", bytes]);
  }
  for (const offset of [32, 72, 80]) {
    const bytes = good.slice();
    bytes.fill(0xff, offset, offset + 8);
    cases.push(["bad-epoch", bytes]);
  }
  for (const [reason, bytes] of cases) {
    let caught: unknown = null;
    try {
      decodePunchRequest(bytes);
    } catch (error) {
      caught = error;
    }
    assertTrue(caught instanceof SwimDecodeError, `no decode error for a ${reason} case`);
    assertEquals((caught as SwimDecodeError).reason, reason);
  }
  assertThrows(() => makePunchRequest(alice, 0, bob.publicKey, 1, 0), RangeError);
  assertThrows(() => makePunchRequest(alice, 1, bob.publicKey, 1, -1), RangeError);
});
