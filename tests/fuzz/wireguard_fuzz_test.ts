/**
 * Fuzz targets for the WireGuard receive path: a real engine (wasm crypto core) gets mutated
 * copies of everything its peer sent during a real exchange (initiations, responses, cookie
 * replies, data and keepalives), in bursts that put it under load; and the Noise message
 * decoders get mutated handshake messages directly, past the MAC1 check. Nothing mutated may
 * decrypt to a packet, create or change a session, or grow a queue or table past its bound.
 */

import {
  MAX_QUEUED_INCOMING_HANDSHAKES,
  MESSAGE_HANDSHAKE_INITIATION,
  MESSAGE_HANDSHAKE_RESPONSE,
  REKEY_AFTER_TIME,
  UNDER_LOAD_QUEUE_LENGTH,
} from "../../lib/wireguard/constants.ts";
import type { Endpoint } from "../../lib/wireguard/endpoint.ts";
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
} from "../../lib/wireguard/handshake.ts";
import { CookieChecker, CookieJar } from "../../lib/wireguard/cookie.ts";
import { tai64n } from "../../lib/wireguard/tai64n.ts";
import { innerPacketLength, innerSourceAddress } from "../../lib/wireguard/transport.ts";
import { FakeNetwork, type Host, sendBetween } from "../wireguard/engine_harness.ts";
import { primitives as p } from "../wireguard/wireguard_fixture.ts";
import { addSeededHost, seededPrimitives } from "./seeded_wireguard.ts";
import { ensure, Mutator, Rng, runFuzz, startFuzz } from "./fuzz_kit.ts";
import { encodeHex as hex } from "../../lib/encoding/base64.ts";

/** A real exchange between a and b with every message type on the wire, b as the target. */
async function exchange(keys: Rng) {
  const network = new FakeNetwork();
  const a = await addSeededHost(network, keys, "alice", "192.0.2.1:51820", "10.99.0.1");
  const b = await addSeededHost(network, keys, "bob", "192.0.2.2:51820", "10.99.0.2");
  network.pair(a, b);
  for (let i = 0; i < 8; i++) sendBetween(network, a, b, 20 + i * 50);
  for (let i = 0; i < 4; i++) sendBetween(network, b, a);
  // Past REKEY_AFTER_TIME both sides rekey: a second round of initiations and responses.
  network.advance(REKEY_AFTER_TIME + 5_000, 1_000);
  for (let i = 0; i < 4; i++) sendBetween(network, a, b);
  // a under load (a queue of junk initiations) answers b's next initiation with a cookie;
  // b retries with MAC2 and a answers with a response.
  network.advance(6_000, 1_000);
  const junk = new Uint8Array(148);
  junk[0] = MESSAGE_HANDSHAKE_INITIATION;
  for (let i = 0; i < UNDER_LOAD_QUEUE_LENGTH + 8; i++) {
    a.engine.receiveDatagram(
      junk,
      { address: new Uint8Array([203, 0, 113, 7]), port: 9 },
      network.now,
    );
  }
  b.engine.initiateHandshake(b.engine.peer(a.engine.publicKey)!, network.now, false);
  network.settle();
  network.advance(30_000, 1_000);
  for (let i = 0; i < 4; i++) sendBetween(network, a, b);
  return { network, a, b };
}

/** What a forged datagram must never change on the target. */
function sessionFingerprint(host: Host, peerKey: Uint8Array): string {
  const peer = host.engine.peer(peerKey)!;
  const keypairs = peer.keypairs;
  return [
    peer.lastHandshakeAt,
    keypairs.current?.localIndex,
    keypairs.previous?.localIndex,
    keypairs.next?.localIndex,
    host.engine.stats.initiationsConsumed,
    host.engine.peers().length,
  ].join("|");
}

Deno.test("fuzz wireguard engine: mutated peer traffic never decrypts or changes a session", async () => {
  const run = startFuzz("wireguard-engine");
  const { network, a, b } = await exchange(new Rng(run.seed ^ 0x7767));
  const seeds = a.sent.map((d) => d.bytes);
  for (const type of [1, 2, 3, 4]) {
    ensure(seeds.some((s) => s[0] === type), `the exchange sent no message of type ${type}`);
  }
  const sources: Endpoint[] = [
    a.endpoint,
    { address: new Uint8Array([198, 51, 100, 3]), port: 51820 },
    { address: Uint8Array.of(0xfd, 0x99, 0x6d, 0x67, ...new Uint8Array(11), 1), port: 1 },
  ];
  b.delivered.length = 0;
  const fingerprint = sessionFingerprint(b, a.engine.publicKey);
  const stats = b.engine.stats;
  let now = network.now;
  let burst = 0;
  let peakQueue = 0;
  const mutator = new Mutator(run.rng, { maxLength: 1500 });
  // Seeds by type, so the many data messages do not crowd out the handshakes; one input in
  // ten is a genuine initiation with only MAC2 changed (MAC1 still valid): a replay that gets
  // past the cheap check, answered with a cookie under load and refused by TAI64N otherwise.
  const byType = [1, 2, 3, 4].map((type) => seeds.filter((s) => s[0] === type));
  const make = () => {
    const group = run.rng.pick(byType);
    if (!run.rng.chance(0.1)) return mutator.next(group);
    const message = byType[0][run.rng.below(byType[0].length)].slice();
    message.set(run.rng.bytes(16), 132);
    return message;
  };
  const outcomes = runFuzz("wireguard-engine", run, make, (input) => {
    const before = { ...stats };
    b.receive(input, run.rng.pick(sources), now);
    peakQueue = Math.max(peakQueue, b.engine.queuedHandshakes);
    // Bursts of 3,000 datagrams between processing runs push b under load.
    if (--burst <= 0) {
      now += run.rng.below(5);
      b.engine.processHandshakes(now);
      burst = run.rng.chance(0.01) ? 3_000 : 1 + run.rng.below(4);
    }
    b.sent.length = 0;
    ensure(b.delivered.length === 0, "a mutated datagram decrypted to a packet");
    ensure(
      sessionFingerprint(b, a.engine.publicKey) === fingerprint,
      "a mutated datagram changed a session",
    );
    ensure(
      b.engine.queuedHandshakes <= MAX_QUEUED_INCOMING_HANDSHAKES,
      `handshake queue at ${b.engine.queuedHandshakes}`,
    );
    const changed = Object.keys(stats).filter((k) =>
      stats[k as keyof typeof stats] !== before[k as keyof typeof stats]
    );
    return changed.length === 0 ? "queued or ignored" : changed.join("+");
  });
  b.engine.processHandshakes(now + 1);
  console.log(`fuzz wireguard-engine: peak handshake queue ${peakQueue}; ${JSON.stringify(stats)}`);
  const counters = ["invalidMac", "transportDropped", "cookieRepliesSent", "replayedInitiations"];
  for (const counter of counters) {
    ensure(
      [...outcomes.keys()].some((k) => k.includes(counter)),
      `no input was counted as ${counter}`,
    );
  }
});

Deno.test("fuzz wireguard noise: mutated initiations and responses never authenticate", () => {
  const run = startFuzz("wireguard-noise");
  const seeded = seededPrimitives(p, new Rng(run.seed ^ 0x7767));
  const newStatic = () => {
    const privateKey = seeded.generatePrivateKey();
    return { privateKey, publicKey: seeded.publicKey(privateKey) };
  };
  const initiator = newStatic();
  const responder = newStatic();
  const initiations: Uint8Array[] = [];
  const responses: { message: Uint8Array; state: ReturnType<typeof createInitiation> }[] = [];
  for (let i = 0; i < 4; i++) {
    const created = createInitiation(
      seeded,
      initiator,
      responder.publicKey,
      i,
      tai64n(1_700_000_000_000 + i),
    )!;
    initiations.push(created.message);
    const consumed = consumeInitiation(p, responder, created.message)!;
    const response = createResponse(seeded, consumed, 100 + i, new Uint8Array(32))!;
    responses.push({ message: response.message, state: created });
  }
  const seeds = [...initiations, ...responses.map((r) => r.message)];
  const mutator = new Mutator(run.rng, { maxLength: 200 });
  runFuzz("wireguard-noise", run, () => mutator.next(seeds), (input) => {
    if (input[0] === MESSAGE_HANDSHAKE_RESPONSE) {
      // Tried against one pending initiation: only its own response may complete it. The
      // indices and MACs are not part of what the Noise response authenticates (MAC1 is).
      const { message, state } = run.rng.pick(responses);
      const keys = consumeResponse(p, initiator, state!.state, new Uint8Array(32), input);
      const same = input.length === 92 &&
        hex(input.subarray(12, 60)) === hex(message.subarray(12, 60));
      ensure(keys === null || same, "a mutated response authenticated");
      return "response";
    }
    const consumed = consumeInitiation(p, responder, input);
    // Likewise the sender index and MACs: equal from the ephemeral key to MAC1 is genuine.
    const body = hex(input.subarray(8, 116));
    const genuineBody = input.length === 148 && input[0] === 1 &&
      initiations.some((m) => hex(m.subarray(8, 116)) === body);
    ensure(
      (consumed !== null) === genuineBody,
      "initiation authentication disagrees with its bytes",
    );
    if (consumed !== null) return "genuine initiation";
    return input[0] === MESSAGE_HANDSHAKE_INITIATION ? "initiation refused" : "other refused";
  });
});

Deno.test("fuzz wireguard cookies: MAC1, MAC2 and cookie replies hold only for genuine bytes", () => {
  const run = startFuzz("wireguard-cookie");
  const seeded = seededPrimitives(p, new Rng(run.seed ^ 0x636b));
  const initiatorKey = seeded.generatePrivateKey();
  const initiator = { privateKey: initiatorKey, publicKey: seeded.publicKey(initiatorKey) };
  const responderKey = seeded.generatePrivateKey();
  const responder = seeded.publicKey(responderKey);
  const source = { address: new Uint8Array([192, 0, 2, 1]), port: 51820 };
  const now = 1_000;
  const checker = new CookieChecker(seeded, responder, now);
  const jar = new CookieJar(seeded, responder);
  const first =
    createInitiation(seeded, initiator, responder, 1, tai64n(1_700_000_000_000))!.message;
  jar.addMacs(first, now);
  const reply = checker.createReply(first, source, now);
  ensure(jar.consumeReply(reply, now), "the genuine cookie reply was refused");
  // With the cookie, the next message carries a MAC2 the checker accepts.
  const second =
    createInitiation(seeded, initiator, responder, 2, tai64n(1_700_000_000_001))!.message;
  jar.addMacs(second, now);
  ensure(checker.checkMac2(second, source, now), "the genuine MAC2 was refused");
  const messages = [first, second];
  const seeds = [first, second, reply];
  const mutator = new Mutator(run.rng, { maxLength: 200 });
  runFuzz("wireguard-cookie", run, () => mutator.next(seeds), (input) => {
    if (input.length === 64) {
      // Re-arm the jar for `first` (its MAC1 is the reply's associated data), then try.
      jar.addMacs(first.slice(), now);
      const taken = jar.consumeReply(input, now);
      // Type, reserved bytes and receiver index are not part of what the reply authenticates.
      ensure(
        taken === (hex(input.subarray(8)) === hex(reply.subarray(8))),
        "cookie reply verdict wrong",
      );
      return taken ? "genuine reply" : "reply refused";
    }
    const mac1 = checker.checkMac1(input);
    const mac2 = checker.checkMac2(input, source, now);
    const sameUpTo = (end: number) =>
      messages.some((m) =>
        m.length === input.length && hex(m.subarray(0, end)) === hex(input.subarray(0, end))
      );
    ensure(!mac1 || sameUpTo(input.length - 16), "a mutated message passed MAC1");
    ensure(!mac2 || hex(input) === hex(second), "a mutated message passed MAC2");
    return mac2 ? "mac2" : mac1 ? "mac1" : "refused";
  });
});

Deno.test("fuzz wireguard inner packets: lengths and addresses stay inside the plaintext", () => {
  const run = startFuzz("wireguard-inner");
  const seeds = [new Uint8Array(48), new Uint8Array(60)];
  seeds[0][0] = 0x45;
  seeds[0][3] = 48;
  seeds[1][0] = 0x60;
  seeds[1][5] = 20;
  const mutator = new Mutator(run.rng, { maxLength: 128 });
  runFuzz("wireguard-inner", run, () => mutator.next(seeds), (input) => {
    const length = innerPacketLength(input);
    const source = innerSourceAddress(input);
    if (length === null) return "no packet";
    ensure(Number.isInteger(length) && length >= 0 && length <= input.length, `length ${length}`);
    if (source !== null) ensure(source.length === 4 || source.length === 16, "source size");
    return "packet";
  });
});
