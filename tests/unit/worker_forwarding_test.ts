/**
 * The worker's forwarding decision under a forged-SWIM flood (finding 9): what reaches the main
 * thread is bounded per source address and in total, malformed datagrams never reach it, and a
 * legitimate peer's traffic still does.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import {
  CONTROL_CELLS,
  CONTROL_HANDSHAKES_IN_FLIGHT,
  CONTROL_SWIM_IN_FLIGHT,
} from "../../lib/device/device_protocol.ts";
import { SourceRateLimiter } from "../../lib/device/source_rate_limiter.ts";
import { plausibleSwimDatagram } from "../../lib/device/swim_precheck.ts";
import {
  FORWARD_HANDSHAKE,
  FORWARD_SWIM,
  KEEP,
  MAX_FORWARDED_SWIM,
  MAX_SWIM_IN_FLIGHT,
  swimForwardingDrops,
  swimHandled,
  WorkerForwarding,
} from "../../lib/device/worker_forwarding.ts";
import type { Endpoint } from "../../lib/wireguard/endpoint.ts";

/** A datagram with a well-formed SWIM header claiming `type`, and `length` bytes in all. */
function swimLooking(type: number, length = 200, receiverEpoch = 1_700_000_000_000) {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  bytes[0] = type;
  bytes[1] = 1;
  bytes.set([0x6d, 0x67, 0x73, 0x77], 2);
  view.setBigUint64(8, 1_700_000_000_123n, true);
  view.setBigUint64(16, type === 5 ? 0n : BigInt(receiverEpoch), true);
  view.setBigUint64(24, 77n, true);
  bytes.fill(0x42, 32, 64);
  return bytes;
}

function sharedControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CONTROL_CELLS * Int32Array.BYTES_PER_ELEMENT));
}

const attacker: Endpoint = { address: new Uint8Array([203, 0, 113, 66]), port: 40000 };

Deno.test("worker forwarding: a forged-SWIM flood from one address reaches the main thread at most ~1,000 times a second", () => {
  const forwarding = new WorkerForwarding({ control: sharedControl(), forwardSwim: true });
  const forged = swimLooking(0x08);
  let forwarded = 0;
  // One second at 100k datagrams/s, in receive batches of 100 every millisecond.
  for (let ms = 0; ms < 1000; ms++) {
    forwarding.startBatch();
    for (let i = 0; i < 100; i++) {
      if (forwarding.decide(forged, attacker, 10_000 + ms) === FORWARD_SWIM) forwarded++;
    }
  }
  assertTrue(forwarded > 0, "some are forwarded: they look valid");
  assertTrue(
    forwarded <= 1_000,
    `${forwarded} of 100,000 forged datagrams reached the main thread`,
  );
});

Deno.test("worker forwarding: handshake messages still go to the bounded handshake queue", () => {
  const control = sharedControl();
  const forwarding = new WorkerForwarding({ control, forwardSwim: true });
  const initiation = new Uint8Array(148);
  initiation[0] = 1;
  assertEquals(forwarding.decide(initiation, attacker, 0), FORWARD_HANDSHAKE);
  assertEquals(Atomics.load(control, CONTROL_HANDSHAKES_IN_FLIGHT), 1);
  const transport = new Uint8Array(32);
  transport[0] = 4;
  assertEquals(forwarding.decide(transport, attacker, 0), KEEP);
  const swimOff = new WorkerForwarding({ control, forwardSwim: false });
  assertEquals(swimOff.decide(swimLooking(0x01), attacker, 0), KEEP, "not in mesh mode");
});

function spoofed(i: number): Endpoint {
  return { address: new Uint8Array([10, 99, (i >> 8) & 255, i & 255]), port: 1024 + (i % 60000) };
}

Deno.test("worker forwarding: from many (spoofed) sources, at most MAX_SWIM_IN_FLIGHT wait for the main thread; handled ones make room", () => {
  const control = sharedControl();
  const forwarding = new WorkerForwarding({ control, forwardSwim: true });
  const forged = swimLooking(0x01);
  let forwarded = 0;
  for (let i = 0; i < 20_000; i++) {
    if (i % MAX_FORWARDED_SWIM === 0) forwarding.startBatch();
    if (forwarding.decide(forged, spoofed(i), 5_000) === FORWARD_SWIM) forwarded++;
  }
  assertEquals(forwarded, MAX_SWIM_IN_FLIGHT);
  assertEquals(Atomics.load(control, CONTROL_SWIM_IN_FLIGHT), MAX_SWIM_IN_FLIGHT);
  assertEquals(swimForwardingDrops(control).queueFull, 20_000 - MAX_SWIM_IN_FLIGHT);
  swimHandled(control, 10);
  forwarding.startBatch();
  let more = 0;
  for (let i = 0; i < 100; i++) {
    if (forwarding.decide(forged, spoofed(30_000 + i), 5_001) === FORWARD_SWIM) more++;
  }
  assertEquals(more, 10, "exactly as many as the main thread handled");
});

Deno.test("worker forwarding: one receive batch hands over at most MAX_FORWARDED_SWIM", () => {
  const control = sharedControl();
  const forwarding = new WorkerForwarding({ control, forwardSwim: true });
  forwarding.startBatch();
  let forwarded = 0;
  for (let i = 0; i < 1000; i++) {
    if (forwarding.decide(swimLooking(0x08), spoofed(i), 0) === FORWARD_SWIM) forwarded++;
  }
  assertEquals(forwarded, MAX_FORWARDED_SWIM);
  assertEquals(
    Atomics.load(control, CONTROL_SWIM_IN_FLIGHT),
    MAX_FORWARDED_SWIM,
    "what the batch could not take is not left counted in flight",
  );
});

Deno.test("worker forwarding: malformed SWIM-looking datagrams are dropped and counted, never forwarded", () => {
  const control = sharedControl();
  const forwarding = new WorkerForwarding({ control, forwardSwim: true });
  const cases: [string, Uint8Array][] = [];
  const reserved = swimLooking(0x01);
  reserved[7] = 1;
  cases.push(["reserved byte set", reserved]);
  cases.push(["unknown type", swimLooking(0x3f)]);
  cases.push(["type 0", swimLooking(0x00)]);
  cases.push(["shorter than header and tag", swimLooking(0x01, 79)]);
  cases.push(["longer than 1,200 bytes", swimLooking(0x08, 1201)]);
  cases.push(["Hello shorter than a signature", swimLooking(0x05, 130)]);
  cases.push(["receiver epoch 0 outside Hello", swimLooking(0x03, 200, 0)]);
  const noSender = swimLooking(0x01);
  noSender.fill(0, 8, 16);
  cases.push(["sender epoch 0", noSender]);
  const huge = swimLooking(0x01);
  huge[31] = 0xff;
  cases.push(["counter past 2^53", huge]);
  for (const [name, datagram] of cases) {
    forwarding.startBatch();
    assertEquals(forwarding.decide(datagram, attacker, 0), KEEP, name);
  }
  assertEquals(swimForwardingDrops(control).malformed, cases.length);
  assertEquals(Atomics.load(control, CONTROL_SWIM_IN_FLIGHT), 0);
  for (
    const [name, datagram] of [
      ["smallest encrypted", swimLooking(0x01, 80)],
      ["largest", swimLooking(0x07, 1200)],
      ["smallest Hello", swimLooking(0x05, 131)],
    ] as const
  ) {
    assertTrue(plausibleSwimDatagram(datagram), name);
  }
});

Deno.test("worker forwarding: a legitimate peer keeps its rate while another address floods", () => {
  const control = sharedControl();
  const forwarding = new WorkerForwarding({ control, forwardSwim: true });
  const legit: Endpoint = { address: new Uint8Array([198, 51, 100, 7]), port: 51821 };
  const forged = swimLooking(0x08);
  const genuine = swimLooking(0x01);
  let delivered = 0;
  // A minute: the flooder sends 100 per millisecond, the peer 50 a second (≥3× a busy peer).
  for (let ms = 0; ms < 60_000; ms++) {
    forwarding.startBatch();
    let forwarded = 0;
    for (let i = 0; i < 100; i++) {
      if (forwarding.decide(forged, attacker, ms) === FORWARD_SWIM) forwarded++;
    }
    if (ms % 20 === 0) {
      if (forwarding.decide(genuine, legit, ms) === FORWARD_SWIM) {
        forwarded++;
        delivered++;
      }
    }
    swimHandled(control, forwarded); // the main thread keeps up with what it is given
  }
  assertEquals(delivered, 3000, "every one of the peer's datagrams");
});

Deno.test("source rate limiter: a source sharing a bucket with a flooder still passes through its other bucket", () => {
  const sources = new SourceRateLimiter({ buckets: 8, ratePerSecond: 10, burst: 10, seed: 7 });
  const flooder = new Uint8Array([203, 0, 113, 9]);
  const [f1, f2] = sources.bucketsOf(flooder);
  assertTrue(f1 !== f2, "two distinct buckets");
  let sharer: Uint8Array | null = null;
  for (let i = 0; i < 256 && sharer === null; i++) {
    const candidate = new Uint8Array([192, 0, 2, i]);
    const shared = sources.bucketsOf(candidate).filter((b) => b === f1 || b === f2).length;
    if (shared === 1) sharer = candidate;
  }
  assertTrue(sharer !== null, "an address sharing exactly one bucket exists among 256");
  for (let i = 0; i < 100; i++) sources.allow(flooder, 1000); // empties the flooder's buckets
  assertTrue(!sources.allow(flooder, 1000), "the flooder is held");
  for (let i = 0; i < 5; i++) {
    const t = 1000 + i * 100; // 10/s: the sharer's own bucket gains one token per 100 ms
    for (let j = 0; j < 100; j++) sources.allow(flooder, t);
    assertTrue(sources.allow(sharer!, t), "the sharer passes through its own bucket");
  }
});

Deno.test("source rate limiter: an idle source gets its burst back at the configured rate", () => {
  const sources = new SourceRateLimiter({ buckets: 64, ratePerSecond: 100, burst: 5, seed: 1 });
  const address = new Uint8Array(16).fill(0xfd);
  let passed = 0;
  for (let i = 0; i < 20; i++) if (sources.allow(address, 0)) passed++;
  assertTrue(passed >= 5 && passed <= 10, `burst of 5 per bucket, two buckets: ${passed}`);
  assertTrue(!sources.allow(address, 0));
  assertTrue(sources.allow(address, 10), "10 ms at 100/s is a token");
  let later = 0;
  for (let i = 0; i < 20; i++) if (sources.allow(address, 10_000)) later++;
  assertTrue(later >= 5 && later <= 10, "capped at the burst however long it was idle");
});
