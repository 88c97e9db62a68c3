/**
 * Fuzz target for the punch request decoder (issue 13): it may throw only SwimDecodeError,
 * whatever it accepts is in range and re-encodes to the same bytes, and only a genuinely
 * signed request verifies.
 */

import { encodeHex as hex } from "../../lib/encoding/base64.ts";
import {
  decodePunchRequest,
  makePunchRequest,
  verifyPunchRequest,
} from "../../lib/swim/punch_request.ts";
import { SwimDecodeError } from "../../lib/swim/swim_errors.ts";
import { ensure, Mutator, runFuzz, startFuzz } from "./fuzz_kit.ts";
import { swimIdentity } from "./swim_identities.ts";

Deno.test("fuzz punch request: only SwimDecodeError, fields in range, only genuine bytes verify", () => {
  const run = startFuzz("punch-request");
  const alice = swimIdentity(run.rng);
  const bob = swimIdentity(run.rng);
  const seeds = [
    makePunchRequest(alice, 1_700_000_000_000, bob.publicKey, 1_700_000_000_001, 0).bytes,
    makePunchRequest(bob, 1, alice.publicKey, 2 ** 53 - 1, 2 ** 40).bytes,
    makePunchRequest(alice, 2 ** 53 - 1, alice.publicKey, 1, 2 ** 53 - 1).bytes,
  ];
  const genuine = new Set(seeds.map(hex));
  const verify = (key: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
    alice.verify(key, message, signature);
  const mutator = new Mutator(run.rng, { maxLength: 400 });
  const outcomes = runFuzz("punch-request", run, () => mutator.next(seeds), (input) => {
    let request;
    try {
      request = decodePunchRequest(input);
    } catch (error) {
      if (error instanceof SwimDecodeError) return `rejected ${error.reason}`;
      throw error;
    }
    for (const value of [request.requesterEpoch, request.targetEpoch]) {
      ensure(Number.isSafeInteger(value) && value >= 1, `epoch ${value} out of range`);
    }
    ensure(Number.isSafeInteger(request.nonce) && request.nonce >= 0, `nonce ${request.nonce}`);
    ensure(hex(request.bytes) === hex(input), "request bytes are not the input");
    const valid = verifyPunchRequest(request, verify);
    const isGenuine = genuine.has(hex(input));
    ensure(
      valid === isGenuine,
      isGenuine ? "a genuine request failed to verify" : "a mutated request verified",
    );
    return isGenuine ? "genuine" : "decoded, signature refused";
  });
  ensure((outcomes.get("decoded, signature refused") ?? 0) > 1000, "too few requests decoded");
});
