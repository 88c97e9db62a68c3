/**
 * STUN in a data worker's forwarding: plain Binding requests are answered (rate-limited per
 * source), responses go to the main thread under SWIM's bounds, everything else is dropped and
 * counted, and nothing STUN-related happens outside mesh mode.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { CONTROL_CELLS } from "../../lib/device/device_protocol.ts";
import { SourceRateLimiter } from "../../lib/device/source_rate_limiter.ts";
import {
  ANSWER_STUN,
  FORWARD_SWIM,
  KEEP,
  STUN_SOURCE_BURST,
  STUN_SOURCE_RATE,
  stunServing,
  WorkerForwarding,
} from "../../lib/device/worker_forwarding.ts";
import { encodeBindingRequest, writeBindingSuccess } from "../../lib/stun/stun_message.ts";
import type { Endpoint } from "../../lib/wireguard/endpoint.ts";

function control(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(CONTROL_CELLS * Int32Array.BYTES_PER_ELEMENT));
}

const client: Endpoint = { address: new Uint8Array([198, 51, 100, 7]), port: 40000 };
const request = encodeBindingRequest(new Uint8Array(12).fill(7));

function forwarding(cells: Int32Array, forwardSwim = true): WorkerForwarding {
  return new WorkerForwarding({
    control: cells,
    forwardSwim,
    stunSources: new SourceRateLimiter({
      buckets: 64,
      ratePerSecond: STUN_SOURCE_RATE,
      burst: STUN_SOURCE_BURST,
      seed: 1,
    }),
  });
}

Deno.test("stun forwarding: a plain Binding request is answered, a flood only at the source's rate", () => {
  const cells = control();
  const worker = forwarding(cells);
  let answered = 0;
  // Ten seconds of 1,000 requests a second from one address.
  for (let ms = 0; ms < 10_000; ms++) {
    worker.startBatch();
    if (worker.decide(request, client, 1_000 + ms) === ANSWER_STUN) answered++;
  }
  // Two buckets per source: at most 2 × (burst + rate × 10 s).
  assertTrue(answered >= STUN_SOURCE_RATE * 10, `answered ${answered}`);
  assertTrue(answered <= 2 * (STUN_SOURCE_BURST + STUN_SOURCE_RATE * 10), `answered ${answered}`);
  const counters = stunServing(cells);
  assertEquals(counters.answered, answered);
  assertEquals(counters.rateLimited, 10_000 - answered);
});

Deno.test("stun forwarding: malformed STUN and requests needing more than a plain answer are dropped", () => {
  const cells = control();
  const worker = forwarding(cells);
  const truncated = request.slice(0, request.length - 4);
  const badFingerprint = request.slice();
  badFingerprint[request.length - 1] ^= 0xff;
  const withUsername = new Uint8Array(32);
  withUsername.set(request.subarray(0, 20));
  withUsername[3] = 12;
  withUsername.set([0x00, 0x06, 0x00, 0x08], 20); // USERNAME: comprehension-required
  for (const bad of [truncated, badFingerprint, withUsername]) {
    assertEquals(worker.decide(bad, client, 1_000), KEEP);
  }
  assertEquals(stunServing(cells), { answered: 0, rateLimited: 0, malformed: 3 });
});

Deno.test("stun forwarding: a Binding response goes to the main thread; not in plain WireGuard mode", () => {
  const answer = new Uint8Array(64);
  const length = writeBindingSuccess(answer, request, client.address, client.port);
  const response = answer.slice(0, length);
  assertEquals(forwarding(control()).decide(response, client, 1_000), FORWARD_SWIM);
  const plain = forwarding(control(), false);
  assertEquals(plain.decide(response, client, 1_000), KEEP);
  assertEquals(plain.decide(request, client, 1_000), KEEP);
});
