/**
 * Fuzz targets for the SWIM decoders on their own: the 64-byte header, the message body of
 * every type and the signed items. Seeds are built with the encoders (so they follow the wire
 * format as it evolves); decoders may throw only SwimDecodeError, whatever they accept must be
 * in range, and a decoded item verifies only when its bytes are exactly a genuinely signed item.
 */

import { MAX_ENDPOINTS, MessageType } from "../../lib/swim/constants.ts";
import { assertAddress } from "../../lib/swim/address.ts";
import { readHeader, writeHeader } from "../../lib/swim/header.ts";
import { decodeBody, encodeBody, FLAG_INTRODUCE } from "../../lib/swim/message_body.ts";
import {
  makeAliveRecord,
  makeClaim,
  makeLeaveRecord,
  NatType,
  readItem,
  type SwimItem,
  verifyItem,
} from "../../lib/swim/records.ts";
import { SwimDecodeError } from "../../lib/swim/swim_errors.ts";
import { assertEquals } from "../assert.ts";
import { ensure, Mutator, type Rng, runFuzz, startFuzz } from "./fuzz_kit.ts";
import { encodeHex as hex } from "../../lib/encoding/base64.ts";
import { swimIdentity } from "./swim_identities.ts";

const TYPES = Object.values(MessageType);
const MAX_U32 = 0xffff_ffff;

/** Genuine signed items of every kind (IPv4 and IPv6 endpoints, 0–4 of them). */
function genuineItems(rng: Rng): Uint8Array[] {
  const alice = swimIdentity(rng);
  const bob = swimIdentity(rng);
  const endpoints = [
    "192.0.2.1:51821",
    "[fd99:6d67::1]:51821",
    "198.51.100.7:1",
    "10.99.0.4:65535",
  ];
  const items: Uint8Array[] = [];
  for (let count = 0; count <= MAX_ENDPOINTS; count++) {
    items.push(
      makeAliveRecord(alice, 1_700_000_000_000, count, NatType.Cone, endpoints.slice(0, count))
        .bytes,
    );
  }
  items.push(makeLeaveRecord(alice, 1_700_000_000_000, 9).bytes);
  items.push(makeClaim(bob, 3, alice.publicKey, 1_700_000_000_000, 2).bytes);
  items.push(makeClaim(bob, 4, alice.publicKey, 1_700_000_000_000, 2).bytes);
  return items;
}

function verifier(rng: Rng) {
  // Verification with the real Ed25519 (any identity's verify checks any key).
  const crypto = swimIdentity(rng);
  return (key: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
    crypto.verify(key, message, signature);
}

function checkItemShape(item: SwimItem): void {
  ensure(item.kind >= 1 && item.kind <= 4, `item kind ${item.kind}`);
  ensure(Number.isSafeInteger(item.epoch) && item.epoch > 0, `item epoch ${item.epoch}`);
  ensure(
    Number.isInteger(item.incarnation) && item.incarnation >= 0 && item.incarnation <= MAX_U32,
    `item incarnation ${item.incarnation}`,
  );
  ensure(item.subject.length === 32, "subject is not 32 bytes");
  if (item.kind === 1) {
    ensure(item.endpoints.length <= MAX_ENDPOINTS, `${item.endpoints.length} endpoints`);
    for (const endpoint of item.endpoints) assertAddress(endpoint);
  }
}

Deno.test("fuzz swim header: only SwimDecodeError, and what is accepted re-encodes to itself", () => {
  const run = startFuzz("swim-header");
  const sender = run.rng.bytes(32);
  const seeds = TYPES.map((type) => {
    const out = new Uint8Array(64 + run.rng.below(64));
    writeHeader(
      out,
      type,
      1 + run.rng.below(2 ** 40),
      run.rng.below(2 ** 40),
      run.rng.below(1e6),
      sender,
    );
    return out;
  });
  const mutator = new Mutator(run.rng, { maxLength: 256 });
  const outcomes = runFuzz("swim-header", run, () => mutator.next(seeds), (input) => {
    let header;
    try {
      header = readHeader(input);
    } catch (error) {
      if (error instanceof SwimDecodeError) return `rejected ${error.reason}`;
      throw error;
    }
    ensure(TYPES.includes(header.type as typeof TYPES[number]), `type ${header.type}`);
    for (const value of [header.senderEpoch, header.receiverEpoch, header.counter]) {
      ensure(Number.isSafeInteger(value) && value >= 0, `number ${value} out of range`);
    }
    ensure(header.senderEpoch > 0, "sender epoch 0 accepted");
    const again = new Uint8Array(64);
    writeHeader(
      again,
      header.type,
      header.senderEpoch,
      header.receiverEpoch,
      header.counter,
      header.sender,
    );
    assertEquals(
      hex(again),
      hex(input.subarray(0, 64)),
      "accepted header does not re-encode to itself",
    );
    return "accepted";
  });
  ensure((outcomes.get("accepted") ?? 0) > 1000, "the fuzzer hardly reached valid headers");
});

Deno.test("fuzz swim items: only SwimDecodeError, fields in range, only genuine bytes verify", () => {
  const run = startFuzz("swim-items");
  const seeds = genuineItems(run.rng);
  const genuine = new Set(seeds.map(hex));
  const verify = verifier(run.rng);
  const mutator = new Mutator(run.rng, { maxLength: 512 });
  const outcomes = runFuzz("swim-items", run, () => mutator.next(seeds), (input) => {
    let decoded;
    try {
      decoded = readItem(input, 0);
    } catch (error) {
      if (error instanceof SwimDecodeError) return `rejected ${error.reason}`;
      throw error;
    }
    ensure(decoded.next >= 3 && decoded.next <= input.length, `next ${decoded.next} out of bounds`);
    const item = decoded.item;
    if (item === null) return "skipped unknown kind";
    assertEquals(
      hex(item.bytes),
      hex(input.subarray(0, decoded.next)),
      "item bytes are not the input",
    );
    checkItemShape(item);
    const valid = verifyItem(item, verify);
    const isGenuine = genuine.has(hex(item.bytes));
    ensure(
      valid === isGenuine,
      isGenuine ? "a genuine item failed to verify" : "a mutated item verified",
    );
    return isGenuine ? "genuine" : "decoded, signature refused";
  });
  ensure((outcomes.get("decoded, signature refused") ?? 0) > 1000, "too few items decoded");
});

Deno.test("fuzz swim body: every type, only SwimDecodeError, items within the body", () => {
  const run = startFuzz("swim-body");
  const items = genuineItems(run.rng);
  // Input = type byte ‖ body, so the mutator also moves bodies between types.
  const seeds = TYPES.filter((type) => type !== MessageType.Hello).flatMap((type) => {
    const target = type === MessageType.PingReq ? run.rng.bytes(32) : null;
    return [0, 1, 3].map((count) => {
      const chosen = Array.from({ length: count }, () => run.rng.pick(items));
      const body = encodeBody(type, run.rng.below(MAX_U32), FLAG_INTRODUCE, target, chosen);
      return Uint8Array.of(type, ...body);
    });
  });
  const mutator = new Mutator(run.rng, { maxLength: 1200 });
  const outcomes = runFuzz("swim-body", run, () => mutator.next(seeds), (input) => {
    if (input.length === 0) return "empty";
    const type = input[0];
    let body;
    try {
      body = decodeBody(type, input.subarray(1));
    } catch (error) {
      if (error instanceof SwimDecodeError) return `rejected ${error.reason}`;
      throw error;
    }
    ensure(Number.isInteger(body.seq) && body.seq >= 0 && body.seq <= MAX_U32, `seq ${body.seq}`);
    ensure((type === MessageType.PingReq) === (body.target !== null), "target presence wrong");
    if (body.target !== null) ensure(body.target.length === 32, "target is not 32 bytes");
    const total = body.items.reduce((sum, item) => sum + item.bytes.length, 0);
    ensure(total < input.length, "items longer than the body");
    for (const item of body.items) checkItemShape(item);
    return body.items.length > 0 ? "decoded with items" : "decoded";
  });
  ensure((outcomes.get("decoded with items") ?? 0) > 1000, "too few bodies decoded");
});
