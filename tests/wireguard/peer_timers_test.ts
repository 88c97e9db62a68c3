/**
 * Each timer rule of peer_timers.ts fires, by name, exactly at its deadline and not before.
 * Time jumps from deadline to deadline (`engine.nextDeadline()`), as the device schedules it.
 * The per-packet rules are checked at their boundaries; engine_test shows them at work.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import {
  KEEPALIVE_TIMEOUT,
  REJECT_AFTER_TIME,
  REKEY_AFTER_TIME,
  REKEY_ATTEMPT_TIME,
  REKEY_TIMEOUT,
  REKEY_TIMEOUT_JITTER_MAX,
  SEND_COUNTER_LIMIT,
  ZERO_KEYS_AFTER,
} from "../../lib/wireguard/constants.ts";
import {
  MAX_HANDSHAKE_RETRANSMISSIONS,
  rejectAfterTime,
  REKEY_AT_COUNTER,
  REKEY_ON_RECEIVE_AGE,
  rekeyAfterMessages,
  rekeyAfterTimeOnReceive,
  rekeyAfterTimeOnSend,
  TIMER_RULES,
  type TimerRule,
} from "../../lib/wireguard/peer_timers.ts";
import { FakeNetwork, type Host, sendBetween, sentOfType } from "./engine_harness.ts";

async function twoHosts() {
  const network = new FakeNetwork();
  const a = await network.addHost("alice", "192.0.2.1:51820", "10.99.0.1");
  const b = await network.addHost("bob", "192.0.2.2:51820", "10.99.0.2");
  network.pair(a, b);
  return { network, a, b };
}

function fired(host: Host, rule: TimerRule): number {
  return host.engine.timerRulesFired[rule];
}

/**
 * Runs every host's timers at each next deadline (and nowhere in between) until `host` fires
 * `rule`; returns when it did, or null when it did not within `within` ms.
 */
function runUntilFired(
  network: FakeNetwork,
  host: Host,
  rule: TimerRule,
  within: number,
): number | null {
  const until = network.now + within;
  const before = fired(host, rule);
  while (network.now < until) {
    let next = Infinity;
    for (const { engine } of network.hosts.values()) {
      next = Math.min(next, engine.nextDeadline() ?? Infinity);
    }
    if (next > until) break;
    network.now = Math.max(next, network.now + 1);
    for (const { engine } of network.hosts.values()) engine.tick(network.now);
    network.settle();
    if (fired(host, rule) !== before) return network.now;
  }
  network.now = until;
  return null;
}

/** As runUntilFired, failing the test when the rule did not fire in time. */
function mustFire(network: FakeNetwork, host: Host, rule: TimerRule, within: number): number {
  const at = runUntilFired(network, host, rule, within);
  if (at === null) throw new Error(`${rule} did not fire within ${within} ms`);
  return at;
}

function isTo(host: Host) {
  return (datagram: { to: { address: Uint8Array } }) =>
    datagram.to.address[3] === host.endpoint.address[3];
}

Deno.test("timer rules: every rule starts at zero and is counted under its own name", async () => {
  const { a } = await twoHosts();
  assertEquals(Object.keys(a.engine.timerRulesFired).sort(), [...TIMER_RULES].sort());
  assertTrue(TIMER_RULES.every((rule) => fired(a, rule) === 0));
});

Deno.test("timer rules: retransmitHandshake fires REKEY_TIMEOUT plus jitter after an unanswered initiation", async () => {
  const { network, a, b } = await twoHosts();
  network.filter = (datagram) => !isTo(b)(datagram); // bob is gone
  sendBetween(network, a, b);
  const first = sentOfType(a, 1)[0].at;
  const at = mustFire(network, a, "retransmitHandshake", 60_000);
  assertTrue(
    at - first >= REKEY_TIMEOUT && at - first < REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX,
    `fired ${at - first} ms after the initiation`,
  );
  assertEquals(fired(a, "retransmitHandshake"), 1);
  // It is what sent the second initiation, at that very moment.
  assertEquals(sentOfType(a, 1).map((datagram) => datagram.at), [first, at]);
});

Deno.test("timer rules: an answered initiation is never retransmitted", async () => {
  const { network, a, b } = await twoHosts();
  sendBetween(network, a, b);
  assertEquals(runUntilFired(network, a, "retransmitHandshake", 3 * REKEY_TIMEOUT), null);
  assertEquals(sentOfType(a, 1).length, 1);
});

Deno.test("timer rules: giveUpHandshake fires at the deadline after the last retransmission, past REKEY_ATTEMPT_TIME", async () => {
  const { network, a, b } = await twoHosts();
  network.filter = (datagram) => !isTo(b)(datagram);
  sendBetween(network, a, b);
  const peer = a.engine.peer(b.engine.publicKey)!;
  const at = mustFire(network, a, "giveUpHandshake", 2 * REKEY_ATTEMPT_TIME);
  const initiations = sentOfType(a, 1).map((datagram) => datagram.at);
  // Not before every allowed retransmission went out...
  assertEquals(fired(a, "retransmitHandshake"), MAX_HANDSHAKE_RETRANSMISSIONS);
  assertEquals(initiations.length, MAX_HANDSHAKE_RETRANSMISSIONS + 1);
  assertTrue(at - initiations[0] >= REKEY_ATTEMPT_TIME, `gave up after ${at - initiations[0]} ms`);
  // ...and exactly when the last one's retransmit deadline came.
  const wait = at - initiations.at(-1)!;
  assertTrue(wait >= REKEY_TIMEOUT && wait < REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX, `${wait}`);
  assertEquals(fired(a, "giveUpHandshake"), 1);
  assertEquals(a.engine.dataPlane.hasStaged(peer.id), false);
  assertEquals(peer.pending, null);
  assertEquals(peer.zeroKeyMaterialAt, at + ZERO_KEYS_AFTER);
  network.advance(60_000, 1_000);
  assertEquals(sentOfType(a, 1).length, initiations.length); // silence until new traffic
});

Deno.test("timer rules: sendKeepalive fires KEEPALIVE_TIMEOUT after data came in and nothing went back", async () => {
  const { network, a, b } = await twoHosts();
  sendBetween(network, a, b);
  const received = network.now;
  const sentBefore = b.sent.length;
  const at = runUntilFired(network, b, "sendKeepalive", 60_000);
  assertEquals(at, received + KEEPALIVE_TIMEOUT);
  assertEquals(fired(b, "sendKeepalive"), 1);
  const keepalives = b.sent.slice(sentBefore);
  assertEquals(keepalives.map((d) => [d.bytes[0], d.bytes.length, d.at]), [[4, 32, at]]);
  // Once per burst of received data, and never on the side that only sent.
  assertEquals(runUntilFired(network, b, "sendKeepalive", 60_000), null);
  assertEquals(fired(a, "sendKeepalive"), 0);
});

Deno.test("timer rules: sendKeepalive does not fire when data went back in time", async () => {
  const { network, a, b } = await twoHosts();
  sendBetween(network, a, b);
  network.advance(KEEPALIVE_TIMEOUT - 1_000, 1_000);
  sendBetween(network, b, a); // the reply carries the acknowledgement
  network.advance(1_000, 1_000);
  assertEquals(fired(b, "sendKeepalive"), 0);
});

Deno.test("timer rules: newHandshake fires KEEPALIVE_TIMEOUT + REKEY_TIMEOUT after data went out unanswered", async () => {
  const { network, a, b } = await twoHosts();
  sendBetween(network, a, b);
  sendBetween(network, b, a);
  network.filter = (datagram) => !isTo(a)(datagram); // nothing comes back to alice
  const sent = network.now;
  sendBetween(network, a, b);
  const initiations = sentOfType(a, 1).length;
  const at = runUntilFired(network, a, "newHandshake", 60_000);
  assertEquals(at, sent + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT);
  assertEquals(fired(a, "newHandshake"), 1);
  assertEquals(sentOfType(a, 1).length, initiations + 1);
  assertEquals(sentOfType(a, 1).at(-1)!.at, at);
  assertEquals(fired(b, "newHandshake"), 0); // bob sent nothing unanswered
});

Deno.test("timer rules: persistentKeepalive fires its interval after the last authenticated packet", async () => {
  const { network, a, b } = await twoHosts();
  a.engine.upsertPeer(b.engine.publicKey, { persistentKeepalive: 25 }, network.now);
  network.settle();
  assertEquals(fired(a, "persistentKeepalive"), 0); // turning it on is not the timer
  const start = network.now;
  assertEquals(runUntilFired(network, a, "persistentKeepalive", 60_000), start + 25_000);
  // Traffic pushes it back: data from bob, then alice's keepalive acknowledging it 10 s later
  // (the send-keepalive rule), and the persistent one comes 25 s after that last packet.
  network.advance(10_000, 1_000);
  sendBetween(network, b, a);
  const traffic = network.now;
  const acknowledged = mustFire(network, a, "sendKeepalive", 60_000);
  assertEquals(acknowledged, traffic + KEEPALIVE_TIMEOUT);
  assertEquals(fired(a, "persistentKeepalive"), 1);
  assertEquals(runUntilFired(network, a, "persistentKeepalive", 60_000), acknowledged + 25_000);
  assertEquals(fired(a, "persistentKeepalive"), 2);
  assertEquals(fired(b, "persistentKeepalive"), 0);
});

Deno.test("timer rules: zeroKeyMaterial fires ZERO_KEYS_AFTER (3 × REJECT_AFTER_TIME) after the last session", async () => {
  const { network, a, b } = await twoHosts();
  sendBetween(network, a, b);
  const derived = network.now;
  const peer = a.engine.peer(b.engine.publicKey)!;
  const keypair = peer.keypairs.current!;
  network.filter = () => false; // the peer vanished
  const at = runUntilFired(network, a, "zeroKeyMaterial", ZERO_KEYS_AFTER + 60_000);
  assertEquals(ZERO_KEYS_AFTER, 3 * REJECT_AFTER_TIME);
  assertEquals(at, derived + ZERO_KEYS_AFTER);
  assertEquals(fired(a, "zeroKeyMaterial"), 1);
  assertEquals(peer.keypairs.current, null);
  assertEquals(keypair.sendKey, new Uint8Array(32));
  // Every timer is disarmed: nothing more is due.
  assertEquals(a.engine.nextDeadline(), null);
});

Deno.test("per-packet rules: each holds from its age or counter on, and not a millisecond before", () => {
  assertEquals([rejectAfterTime(REJECT_AFTER_TIME - 1), rejectAfterTime(REJECT_AFTER_TIME)], [
    false,
    true,
  ]);
  assertEquals(
    [
      rekeyAfterTimeOnSend(true, REKEY_AFTER_TIME - 1),
      rekeyAfterTimeOnSend(true, REKEY_AFTER_TIME),
    ],
    [false, true],
  );
  assertEquals(rekeyAfterTimeOnSend(false, REJECT_AFTER_TIME), false); // only the initiator
  const onReceive = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT;
  assertEquals(REKEY_ON_RECEIVE_AGE, onReceive);
  assertEquals(
    [rekeyAfterTimeOnReceive(true, onReceive - 1), rekeyAfterTimeOnReceive(true, onReceive)],
    [false, true],
  );
  assertEquals(rekeyAfterTimeOnReceive(false, REJECT_AFTER_TIME), false);
  // Our 31-bit send counters ask for a rekey 2^20 messages before they run out.
  assertEquals(REKEY_AT_COUNTER, SEND_COUNTER_LIMIT - 2 ** 20);
  assertEquals(
    [rekeyAfterMessages(REKEY_AT_COUNTER - 2), rekeyAfterMessages(REKEY_AT_COUNTER - 1)],
    [false, true],
  );
});
