/**
 * Fuzz targets for STUN on the mesh port: the response parser (never throws; what it accepts is
 * in range and, when it carries a FINGERPRINT, the CRC really matches), the server's request
 * check (what it answers is a plain Binding request and the answer is at most 52 bytes and
 * parses back to the sender's address) and the client (a flood of mutated answers never makes it
 * believe an address it did not get from the server it asked).
 */

import {
  encodeBindingRequest,
  FINGERPRINT_XOR,
  isPlainBindingRequest,
  MAX_BINDING_SUCCESS_BYTES,
  parseStunResponse,
  writeBindingSuccess,
} from "../../lib/stun/stun_message.ts";
import { crc32 } from "../../lib/stun/crc32.ts";
import { StunClient } from "../../lib/stun/stun_client.ts";
import { ensure, Mutator, runFuzz, startFuzz } from "./fuzz_kit.ts";

const COOKIE = Uint8Array.of(0x21, 0x12, 0xa4, 0x42);
const DICTIONARY = [
  COOKIE,
  Uint8Array.of(0x00, 0x20, 0x00, 0x08),
  Uint8Array.of(0x80, 0x28, 0x00, 0x04),
  Uint8Array.of(0x00, 0x01, 0x00, 0x08),
  Uint8Array.of(0x80, 0x20, 0x00, 0x14),
  Uint8Array.of(0x00, 0x09, 0x00, 0x04),
  Uint8Array.of(0x01, 0x01),
  Uint8Array.of(0x01, 0x11),
];

function answers(request: Uint8Array): Uint8Array[] {
  const out = new Uint8Array(MAX_BINDING_SUCCESS_BYTES);
  const v4 = out.slice(0, writeBindingSuccess(out, request, Uint8Array.of(203, 0, 113, 1), 40000));
  const v6 = out.slice(
    0,
    writeBindingSuccess(out, request, new Uint8Array(16).fill(0xfd, 0, 1), 51821),
  );
  return [v4, v6];
}

Deno.test("fuzz stun responses: never throws; accepted answers are in range and their fingerprint is real", () => {
  const run = startFuzz("stun-response");
  const request = encodeBindingRequest(run.rng.bytes(12));
  const seeds = [...answers(request), request];
  const mutator = new Mutator(run.rng, { maxLength: 256, dictionary: DICTIONARY });
  const outcomes = runFuzz("stun-response", run, () => mutator.next(seeds), (input) => {
    const result = parseStunResponse(input);
    if (!result.ok) return `rejected ${result.reason}`;
    const { response } = result;
    ensure(response.transactionId.length === 12, "transaction ID length");
    if (response.mapped !== null) {
      const size = response.mapped.address.length;
      ensure(size === 4 || size === 16, `address of ${size} bytes`);
      ensure(response.mapped.port >= 0 && response.mapped.port <= 0xffff, "port range");
    }
    if (response.fingerprint) {
      const at = input.length - 8;
      const stored = new DataView(input.buffer, input.byteOffset).getUint32(at + 4);
      ensure(((crc32(input, 0, at) ^ FINGERPRINT_XOR) >>> 0) === stored, "fingerprint");
    }
    return response.mapped === null ? "accepted error" : "accepted";
  });
  ensure((outcomes.get("accepted") ?? 0) > 100, "the fuzzer hardly reached valid answers");
});

Deno.test("fuzz stun requests: only plain Binding requests are answered, never with more than 52 bytes", () => {
  const run = startFuzz("stun-request");
  const request = encodeBindingRequest(run.rng.bytes(12));
  const bare = request.slice(0, 20);
  bare[3] = 0;
  const seeds = [request, bare, ...answers(request)];
  const mutator = new Mutator(run.rng, { maxLength: 256, dictionary: DICTIONARY });
  const out = new Uint8Array(MAX_BINDING_SUCCESS_BYTES);
  const source = Uint8Array.of(198, 51, 100, 9);
  const outcomes = runFuzz("stun-request", run, () => mutator.next(seeds), (input) => {
    if (!isPlainBindingRequest(input, input.length)) return "dropped";
    ensure(input[0] === 0x00 && input[1] === 0x01, "not a Binding request");
    const length = writeBindingSuccess(out, input, source, 4242);
    ensure(length <= MAX_BINDING_SUCCESS_BYTES, "answer too large");
    const parsed = parseStunResponse(out.slice(0, length));
    ensure(parsed.ok && parsed.response.mapped?.port === 4242, "answer does not parse back");
    return "answered";
  });
  ensure((outcomes.get("answered") ?? 0) > 100, "the fuzzer hardly reached valid requests");
});

Deno.test("fuzz stun client: mutated and forged answers never plant an address", () => {
  const run = startFuzz("stun-client");
  const client = new StunClient({ random: (bytes) => bytes.set(run.rng.bytes(bytes.length)) });
  const server = "192.0.2.1:3478";
  client.setServers([server], 0);
  client.tick(0);
  const [request] = client.drainOutgoing();
  const genuine = answers(request.data);
  const mutator = new Mutator(run.rng, { maxLength: 256, dictionary: DICTIONARY });
  const from = ["192.0.2.1:3478", "192.0.2.66:3478", "192.0.2.1:3479"];
  runFuzz("stun-client", run, () => mutator.next(genuine), (input) => {
    const sender = run.rng.pick(from);
    const believed = client.receive(sender, input, 1);
    if (!believed) return "dropped";
    // Believed only from the server asked, with our ID; the round then ends and we ask again.
    ensure(sender === server, `believed an answer from ${sender}`);
    ensure(input.subarray(8, 20).join() === request.data.subarray(8, 20).join(), "foreign ID");
    return "believed";
  });
  const counters = client.counters;
  ensure(counters.answers + counters.errorResponses <= 1, "more than one answer believed");
});
