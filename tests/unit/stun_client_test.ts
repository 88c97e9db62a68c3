/**
 * The STUN client on fake time: transactions matched by ID and server, retransmission on RFC
 * 8489's doubling schedule bounded to STUN_TRANSACTION_MS, periodic and on-demand refresh, and
 * unsolicited, mismatched and malformed answers dropped and counted.
 */

import {
  STUN_MAX_SENDS,
  STUN_REFRESH_MS,
  STUN_TRANSACTION_MS,
  StunClient,
} from "../../lib/stun/stun_client.ts";
import { parseEndpoint } from "../../lib/wireguard/endpoint.ts";
import { writeBindingSuccess } from "../../lib/stun/stun_message.ts";
import { mulberry32 } from "../swim/sim/prng.ts";
import { assertEquals, assertTrue } from "../assert.ts";

const S1 = "192.0.2.1:3478";
const S2 = "198.51.100.1:3478";

function seededClient(onMapped?: (endpoints: string[]) => void) {
  const prng = mulberry32(7);
  return new StunClient({
    random: (bytes) => bytes.forEach((_, i) => bytes[i] = Math.floor(prng() * 256)),
    onMappedEndpoints: onMapped,
  });
}

/** The answer a server at any address would give for `request`, seeing `mapped`. */
function answer(request: Uint8Array, mapped: string): Uint8Array {
  const out = new Uint8Array(64);
  const endpoint = parseEndpoint(mapped);
  return out.slice(0, writeBindingSuccess(out, request, endpoint.address, endpoint.port));
}

Deno.test("stun client: a round asks every server once; answers give mapped endpoints and RTTs", () => {
  const changes: string[][] = [];
  const client = seededClient((endpoints) => changes.push(endpoints));
  client.setServers([S1, S2], 1_000);
  assertEquals(client.nextDeadline(), 1_000);
  client.tick(1_000);
  const sent = client.drainOutgoing();
  assertEquals(sent.map((out) => out.to), [S1, S2]);
  // Distinct random transaction IDs.
  assertTrue(sent[0].data.subarray(8, 20).join() !== sent[1].data.subarray(8, 20).join());
  assertTrue(client.receive(S1, answer(sent[0].data, "203.0.113.1:40000"), 1_030));
  assertEquals(changes, [], "the round is not over until every server answered or gave up");
  assertTrue(client.receive(S2, answer(sent[1].data, "203.0.113.1:40000"), 1_050));
  assertEquals(changes, [["203.0.113.1:40000"]]);
  assertEquals(client.mappedEndpoints(), ["203.0.113.1:40000"]);
  assertEquals(client.results().map((r) => [r.server, r.mapped, r.rttMs, r.error]), [
    [S1, "203.0.113.1:40000", 30, null],
    [S2, "203.0.113.1:40000", 50, null],
  ]);
  // The next round is STUN_REFRESH_MS after this one started.
  assertEquals(client.nextDeadline(), 1_000 + STUN_REFRESH_MS);
  // A duplicate of an answered transaction is unsolicited now.
  assertEquals(client.receive(S1, answer(sent[0].data, "203.0.113.1:40000"), 1_060), false);
  assertEquals(client.counters.unsolicited, 1);
});

Deno.test("stun client: retransmits at 0, 0.5, 1.5, 3.5 s and gives up at 4.5 s", () => {
  const client = seededClient();
  client.setServers([S1], 0);
  const sendTimes: number[] = [];
  let now = 0;
  while (now <= 10_000) {
    client.tick(now);
    if (client.drainOutgoing().length > 0) sendTimes.push(now);
    const next = client.nextDeadline();
    if (next > 10_000) break;
    now = next;
  }
  assertEquals(sendTimes.slice(0, STUN_MAX_SENDS), [0, 500, 1_500, 3_500]);
  assertEquals(STUN_TRANSACTION_MS, 4_500);
  assertEquals(client.results()[0].error, "timeout");
  assertEquals(client.counters.timeouts, 1);
  assertEquals(client.counters.retransmissions, 3);
  assertEquals(client.nextDeadline(), STUN_REFRESH_MS);
});

Deno.test("stun client: a retransmitted transaction still matches; RTT counts from the last send", () => {
  const client = seededClient();
  client.setServers([S1], 0);
  client.tick(0);
  const [first] = client.drainOutgoing();
  client.tick(500);
  const [again] = client.drainOutgoing();
  assertEquals(again.data, first.data, "a retransmission repeats the request byte for byte");
  assertTrue(client.receive(S1, answer(first.data, "203.0.113.1:40000"), 620));
  assertEquals(client.results()[0].rttMs, 120);
});

Deno.test("stun client: unsolicited, mismatched and malformed answers are dropped and counted", () => {
  const client = seededClient();
  client.setServers([S1], 0);
  client.tick(0);
  const [request] = client.drainOutgoing();
  const forgedId = request.data.slice();
  forgedId[19] ^= 1;
  assertEquals(client.receive(S1, answer(forgedId, "203.0.113.66:1"), 10), false);
  // The right ID from another address (an on-path guess relayed elsewhere): not believed.
  assertEquals(client.receive(S2, answer(request.data, "203.0.113.66:1"), 10), false);
  const broken = answer(request.data, "203.0.113.66:1");
  broken[broken.length - 1] ^= 1; // FINGERPRINT no longer matches
  assertEquals(client.receive(S1, broken, 10), false);
  assertEquals(client.receive(S1, new Uint8Array(7), 10), false);
  assertEquals(client.counters.unsolicited, 1);
  assertEquals(client.counters.mismatched, 1);
  assertEquals(client.counters.malformed, 2);
  assertEquals(client.mappedEndpoints(), []);
  // The genuine answer still counts after all that.
  assertTrue(client.receive(S1, answer(request.data, "203.0.113.1:40000"), 20));
  assertEquals(client.mappedEndpoints(), ["203.0.113.1:40000"]);
});

Deno.test("stun client: refreshNow starts a round soon (merged within a second), not during one", () => {
  const client = seededClient();
  client.setServers([S1], 0);
  client.tick(0);
  const [request] = client.drainOutgoing();
  client.receive(S1, answer(request.data, "203.0.113.1:40000"), 10);
  client.refreshNow(200);
  assertEquals(client.nextDeadline(), 1_000, "no closer than a second after the last round");
  client.refreshNow(5_000);
  assertEquals(client.nextDeadline(), 1_000);
  client.tick(1_000);
  assertEquals(client.drainOutgoing().length, 1);
  assertEquals(client.rounds, 1);
  // No servers: nothing is scheduled.
  const idle = seededClient();
  idle.refreshNow(0);
  assertEquals(idle.nextDeadline(), Infinity);
});

Deno.test("stun client: error responses end the transaction with the code", () => {
  const client = seededClient();
  client.setServers([S1], 0);
  client.tick(0);
  const [request] = client.drainOutgoing();
  const error = new Uint8Array(28);
  error.set([0x01, 0x11, 0x00, 0x08], 0);
  error.set(request.data.subarray(4, 20), 4);
  error.set([0x00, 0x09, 0x00, 0x04, 0x00, 0x00, 0x04, 20], 20);
  assertTrue(client.receive(S1, error, 30));
  assertEquals(client.results()[0].error, "error 420");
  assertEquals(client.counters.errorResponses, 1);
});
