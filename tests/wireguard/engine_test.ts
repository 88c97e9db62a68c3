import { assertEquals, assertTrue } from "../assert.ts";
import { parseEndpoint } from "../../lib/wireguard/endpoint.ts";
import {
  REJECT_AFTER_TIME,
  REKEY_AFTER_TIME,
  REKEY_ATTEMPT_TIME,
} from "../../lib/wireguard/constants.ts";
import { FakeNetwork, type Host, ipv4Packet, sendBetween, sentOfType } from "./engine_harness.ts";
import { CookieJar } from "../../lib/wireguard/cookie.ts";
import { createInitiation } from "../../lib/wireguard/handshake.ts";
import { tai64n } from "../../lib/wireguard/tai64n.ts";
import { newStatic, primitives as p } from "./wireguard_fixture.ts";
import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { FRESH_PATH_INITIATION_GAP, WireguardEngine } from "../../lib/wireguard/engine.ts";
import { createNoisePrimitives } from "../../lib/wireguard/noise_primitives.ts";

async function twoHosts(options: { pskA?: Uint8Array; pskB?: Uint8Array } = {}) {
  const network = new FakeNetwork();
  const a = await network.addHost("alice", "192.0.2.1:51820", "10.99.0.1");
  const b = await network.addHost("bob", "192.0.2.2:51820", "10.99.0.2");
  network.pair(a, b, options);
  return { network, a, b };
}

function lastDelivered(host: Host): Uint8Array | undefined {
  return host.delivered.at(-1);
}

Deno.test("engine: a first packet triggers a handshake, then data flows both ways", async () => {
  const { network, a, b } = await twoHosts();
  const first = sendBetween(network, a, b);
  assertEquals(sentOfType(a, 1).length, 1);
  assertEquals(sentOfType(b, 2).length, 1);
  assertEquals(b.delivered, [first]); // staged during the handshake, then sent
  const reply = sendBetween(network, b, a);
  assertEquals(lastDelivered(a), reply);
  for (let i = 0; i < 20; i++) {
    const packet = sendBetween(network, i % 2 ? a : b, i % 2 ? b : a, 100 + i);
    assertEquals(lastDelivered(i % 2 ? b : a), packet);
  }
  assertEquals(sentOfType(a, 1).length + sentOfType(b, 1).length, 1);
  assertTrue(b.engine.peer(a.engine.publicKey)!.lastHandshakeAt !== null);
});

Deno.test("engine: the responder initiates just as well (either side may start)", async () => {
  const { network, a, b } = await twoHosts();
  const packet = sendBetween(network, b, a);
  assertEquals(a.delivered, [packet]);
  assertEquals(sentOfType(b, 1).length, 1);
  assertEquals(sentOfType(a, 1).length, 0);
});

Deno.test("engine: simultaneous initiation converges and no packet is lost", async () => {
  const { network, a, b } = await twoHosts();
  const fromA = ipv4Packet(a.meshAddress, b.meshAddress);
  const fromB = ipv4Packet(b.meshAddress, a.meshAddress);
  a.sendPacket(fromA, network.now);
  b.sendPacket(fromB, network.now);
  network.settle();
  network.advance(1_000);
  assertEquals(b.delivered, [fromA]);
  assertEquals(a.delivered, [fromB]);
  for (let i = 0; i < 10; i++) {
    const toB = sendBetween(network, a, b);
    assertEquals(lastDelivered(b), toB);
    const toA = sendBetween(network, b, a);
    assertEquals(lastDelivered(a), toA);
  }
});

Deno.test("engine: rekey after 120 s happens without losing a packet", async () => {
  const { network, a, b } = await twoHosts();
  let sent = 0;
  for (let second = 0; second < 400; second++) {
    sendBetween(network, a, b);
    sendBetween(network, b, a);
    sent++;
    network.advance(1_000);
  }
  assertEquals(b.delivered.length, sent);
  assertEquals(a.delivered.length, sent);
  const handshakes = sentOfType(a, 1).length + sentOfType(b, 1).length;
  assertTrue(handshakes >= 3, `only ${handshakes} handshakes in 400 s`);
  // Each rekey came from the initiator of the ageing keypair at REKEY_AFTER_TIME, not later.
  assertTrue(handshakes <= Math.ceil(400_000 / REKEY_AFTER_TIME) + 1, `${handshakes} handshakes`);
  assertEquals(a.engine.stats.transportDropped + b.engine.stats.transportDropped, 0);
});

Deno.test("engine: unanswered initiations are retried every ~5 s, then given up after 90 s", async () => {
  const { network, a, b } = await twoHosts();
  network.filter = (datagram) => datagram.to.address[3] !== b.endpoint.address[3]; // bob is gone
  sendBetween(network, a, b);
  network.advance(REKEY_ATTEMPT_TIME + 30_000, 50);
  const attempts = sentOfType(a, 1);
  assertTrue(attempts.length >= 18 && attempts.length <= 20, `${attempts.length} attempts`);
  for (let i = 1; i < attempts.length; i++) {
    const gap = attempts[i].at - attempts[i - 1].at;
    // REKEY_TIMEOUT plus up to 1/3 s of jitter (the harness steps time by 50 ms).
    assertTrue(gap >= 5_000 && gap <= 5_000 + 334 + 50, `gap ${gap} ms`);
  }
  // Each retry is a new initiation (fresh ephemeral key), not a resend of the same bytes.
  assertTrue(attempts[0].bytes.subarray(8, 40).join() !== attempts[1].bytes.subarray(8, 40).join());
  const before = attempts.length;
  network.advance(60_000);
  assertEquals(sentOfType(a, 1).length, before); // given up: silence until new traffic
  assertEquals(a.engine.dataPlane.hasStaged(a.engine.peer(b.engine.publicKey)!.id), false);
});

Deno.test("engine: nothing is sent or accepted with a keypair past REJECT_AFTER_TIME", async () => {
  const { network, a, b } = await twoHosts();
  sendBetween(network, a, b);
  // From now on no handshake message gets through: sessions cannot be renewed.
  network.filter = (datagram) => datagram.bytes[0] === 4;
  network.advance(REJECT_AFTER_TIME - 1_000);
  const before = b.delivered.length;
  const lastGood = sendBetween(network, a, b);
  assertEquals(lastDelivered(b), lastGood);
  network.advance(2_000);
  sendBetween(network, a, b);
  network.advance(1_000);
  assertEquals(b.delivered.length, before + 1);
  assertTrue(!a.engine.hasSession(a.engine.peer(b.engine.publicKey)!, network.now));
});

Deno.test("engine: a peer that only receives sends a keepalive after 10 s", async () => {
  const { network, a, b } = await twoHosts();
  sendBetween(network, a, b);
  const before = b.sent.length;
  network.advance(9_000);
  assertEquals(b.sent.length, before);
  network.advance(2_000);
  const keepalives = b.sent.slice(before).filter((d) => d.bytes[0] === 4 && d.bytes.length === 32);
  assertEquals(keepalives.length, 1);
  network.advance(30_000);
  assertEquals(b.sent.length, before + 1); // one keepalive per burst of received data, no more
});

Deno.test("engine: persistent keepalive opens a session by itself and keeps it warm", async () => {
  const { network, a, b } = await twoHosts();
  a.engine.upsertPeer(b.engine.publicKey, { persistentKeepalive: 25 }, network.now);
  network.settle();
  // Turning it on sent a keepalive, which needed (and so started) a handshake.
  assertEquals(sentOfType(a, 1).length, 1);
  assertTrue(b.engine.hasSession(b.engine.peer(a.engine.publicKey)!, network.now));
  const start = network.now;
  network.advance(100_000);
  const keepalives = a.sent.filter((d) =>
    d.bytes[0] === 4 && d.bytes.length === 32 && d.at > start
  );
  // One every 25 s with no other traffic: at 25, 50, 75 and 100 s.
  assertEquals(keepalives.map((d) => d.at - start), [25_000, 50_000, 75_000, 100_000]);
});

/** Initiations from unknown keys with a valid MAC1 (the attacker knows bob's public key). */
function forgedInitiations(responder: Uint8Array, count: number, now: number): Uint8Array[] {
  // Forging costs the attacker DH work too; a small pool reused keeps the test fast. Every
  // copy still costs the responder a full DH before it can tell the key is unknown.
  return Array.from(
    { length: count },
    (_, i) => createInitiation(p, newStatic(), responder, i + 1, tai64n(now))!.message,
  );
}

Deno.test("engine: under a handshake flood, cookies are demanded and a real peer still connects", async () => {
  const { network, a, b } = await twoHosts();
  const attacker = parseEndpoint("203.0.113.66:4444");
  const pool = forgedInitiations(b.engine.publicKey, 16, network.now);
  const jar = new CookieJar(p, b.engine.publicKey);
  const floodRound = (count: number) => {
    for (let i = 0; i < count; i++) {
      const message = pool[i % pool.length].slice();
      jar.addMacs(message, network.now);
      network.inject(message, attacker, b.endpoint);
    }
  };
  floodRound(1_000);
  network.settle();
  assertTrue(b.engine.stats.cookieRepliesSent > 900, `${b.engine.stats.cookieRepliesSent} cookies`);
  // Only what was processed before the queue passed 1/8 full cost DH work.
  assertTrue(b.engine.stats.unknownPeer <= 16, `${b.engine.stats.unknownPeer} DH operations`);

  // Alice connects while the flood goes on: first a cookie, then a retry carrying MAC2.
  const packet = ipv4Packet(a.meshAddress, b.meshAddress);
  a.sendPacket(packet, network.now);
  for (let step = 0; step < 80 && b.delivered.length === 0; step++) {
    floodRound(600);
    network.advance(100);
  }
  assertEquals(b.delivered, [packet]);
  assertTrue(sentOfType(b, 3).some((d) => d.to.address[3] === 1), "alice got a cookie reply");
});

Deno.test("engine: a flooder holding a valid cookie is held to 20 initiations per second", async () => {
  const { network, b } = await twoHosts();
  const attacker = parseEndpoint("203.0.113.66:4444");
  const pool = forgedInitiations(b.engine.publicKey, 16, network.now);
  const jar = new CookieJar(p, b.engine.publicKey);
  const inject = (count: number) => {
    for (let i = 0; i < count; i++) {
      const message = pool[i % pool.length].slice();
      jar.addMacs(message, network.now);
      network.inject(message, attacker, b.endpoint);
    }
  };
  // Put bob under load; the reply to the last message is a cookie for the attacker's address.
  inject(1_000);
  network.settle();
  assertTrue(jar.consumeReply(sentOfType(b, 3).at(-1)!.bytes, network.now));
  const before = b.engine.stats.unknownPeer;
  for (let step = 0; step < 50; step++) {
    inject(600); // 6,000 initiations per second, all with a valid MAC2
    network.advance(100);
  }
  const processed = b.engine.stats.unknownPeer - before;
  // Burst of 5 plus 20 per second over 5 s.
  assertTrue(processed >= 50 && processed <= 5 + 20 * 5 + 2, `${processed} cost DH work in 5 s`);
  assertTrue(b.engine.stats.rateLimited > 20_000, `${b.engine.stats.rateLimited} rate-limited`);
});

Deno.test("engine: endpoints roam to the source of authenticated packets", async () => {
  const { network, a, b } = await twoHosts();
  sendBetween(network, a, b);
  const roamed = parseEndpoint("198.51.100.9:40000");
  // A NAT in front of alice rebinds her to a new address and port.
  network.rewriteSource = (datagram) =>
    datagram.from.port === a.endpoint.port && datagram.from.address[3] === 1
      ? roamed
      : datagram.from;
  sendBetween(network, a, b);
  const peer = b.engine.peer(a.engine.publicKey)!;
  assertEquals(peer.endpoint, roamed);
  network.rewriteSource = (datagram) => datagram.from;
  const reply = ipv4Packet(b.meshAddress, a.meshAddress);
  b.sendPacket(reply, network.now);
  assertEquals(b.sent.at(-1)!.to, roamed);
});

Deno.test("engine: mismatched preshared keys never produce a session", async () => {
  const psk = crypto.getRandomValues(new Uint8Array(32));
  const { network, a, b } = await twoHosts({ pskA: psk });
  sendBetween(network, a, b);
  network.advance(20_000);
  assertEquals(b.delivered.length, 0);
  assertTrue(a.engine.stats.handshakeFailed > 0);
  // With the same PSK on both sides it works.
  const good = await twoHosts({ pskA: psk, pskB: psk });
  const packet = sendBetween(good.network, good.a, good.b);
  assertEquals(good.b.delivered, [packet]);
});

Deno.test("engine: replayed initiations and transport packets are dropped", async () => {
  const { network, a, b } = await twoHosts();
  const first = sendBetween(network, a, b);
  const initiation = sentOfType(a, 1)[0];
  const transport = sentOfType(a, 4)[0];
  network.advance(1_000);
  network.inject(initiation.bytes, initiation.from, initiation.to);
  network.inject(transport.bytes, transport.from, transport.to);
  network.settle();
  assertEquals(b.engine.stats.replayedInitiations, 1);
  assertEquals(b.engine.stats.replayedTransport, 1);
  assertEquals(b.delivered, [first]);
  assertEquals(sentOfType(b, 2).length, 1); // no second response to the replay
});

Deno.test("engine: a packet whose inner source the peer may not use is dropped", async () => {
  const { network, a, b } = await twoHosts();
  sendBetween(network, a, b);
  const spoofed = ipv4Packet(new Uint8Array([10, 99, 0, 77]), b.meshAddress);
  a.sendPacket(spoofed, network.now);
  network.settle();
  assertEquals(b.engine.stats.spoofedSource, 1);
  assertEquals(b.delivered.length, 1);
});

Deno.test("engine: low-order peer keys never get an initiation", async () => {
  const { network, a } = await twoHosts();
  const lowOrder = new Uint8Array(32); // the all-zero point
  a.engine.upsertPeer(lowOrder, { endpoint: parseEndpoint("192.0.2.99:51820") });
  a.engine.addAllowedIp(lowOrder, new Uint8Array([10, 99, 0, 99]), 32);
  a.sendPacket(ipv4Packet(a.meshAddress, new Uint8Array([10, 99, 0, 99])), network.now);
  network.advance(20_000);
  assertEquals(a.sent.filter((d) => d.to.address[3] === 99).length, 0);
});

Deno.test("engine: packets with no route or from unknown keys are dropped and counted", async () => {
  const { network, a, b } = await twoHosts();
  a.sendPacket(ipv4Packet(a.meshAddress, new Uint8Array([10, 99, 5, 5])), network.now);
  assertEquals(a.engine.stats.noRoute, 1);
  const stranger = await network.addHost("mallory", "203.0.113.5:51820", "10.99.0.66");
  stranger.engine.upsertPeer(b.engine.publicKey, { endpoint: b.endpoint });
  stranger.engine.addAllowedIp(b.engine.publicKey, b.meshAddress, 32);
  sendBetween(network, stranger, b);
  assertEquals(b.engine.stats.unknownPeer, 1);
  assertEquals(b.delivered.length, 0);
  assertEquals(sentOfType(b, 2).length, 0);
});

Deno.test("engine: keys are wiped after 3 × REJECT_AFTER_TIME without a new session", async () => {
  const { network, a, b } = await twoHosts();
  sendBetween(network, a, b);
  const peer = a.engine.peer(b.engine.publicKey)!;
  const keypair = peer.keypairs.current!;
  network.filter = () => false; // the peer vanished
  network.advance(3 * REJECT_AFTER_TIME - 5_000, 1_000);
  assertTrue(peer.keypairs.current !== null);
  network.advance(10_000, 1_000);
  assertEquals(peer.keypairs.current, null);
  assertEquals(keypair.sendKey, new Uint8Array(32));
  assertEquals(keypair.receiveKey, new Uint8Array(32));
});

Deno.test("engine: without a configured private key it neither initiates nor answers", async () => {
  const { network, a, b } = await twoHosts();
  const core = await CryptoCore.create({ instances: 1, keySlots: 16 });
  const sent: Uint8Array[] = [];
  const keyless = new WireguardEngine({
    primitives: createNoisePrimitives(core),
    core,
    now: network.now,
    sink: { sendDatagram: (bytes) => sent.push(bytes) },
  });
  assertEquals(keyless.configuredPrivateKey(), null);
  keyless.upsertPeer(b.engine.publicKey, { endpoint: b.endpoint });
  keyless.addAllowedIp(b.engine.publicKey, b.meshAddress, 32);
  // A packet from the TUN, sealed in place as a data path does: no session, so it waits.
  const packet = ipv4Packet(a.meshAddress, b.meshAddress);
  const at = core.layout.arenaBase + 32768;
  core.bytes.set(packet, at + 16);
  const out = { length: 0, address: new Uint8Array(0), port: 0 };
  assertEquals(keyless.dataPlane.sealInPlace(at, packet.length, network.now, out), false);
  keyless.tick(network.now + 10_000);
  assertEquals(sent.length, 0);
  // An initiation sent to its (throwaway) public key is not answered either.
  b.engine.upsertPeer(keyless.publicKey, { endpoint: a.endpoint });
  b.engine.addAllowedIp(keyless.publicKey, new Uint8Array([10, 99, 0, 9]), 32);
  b.sendPacket(ipv4Packet(b.meshAddress, new Uint8Array([10, 99, 0, 9])), network.now);
  const initiation = sentOfType(b, 1).at(-1)!;
  keyless.receiveDatagram(initiation.bytes, b.endpoint, network.now);
  keyless.processHandshakes(network.now);
  assertEquals(sent.length, 0);
  // Once a key is set, it works like any other device.
  const key = createNoisePrimitives(core).generatePrivateKey();
  keyless.setPrivateKey(key, network.now);
  assertEquals(keyless.configuredPrivateKey(), key);
});

Deno.test("engine: a fresh path starts a handshake at once, but not within 500 ms of one, nor over a session", async () => {
  const { network, a, b } = await twoHosts();
  const peer = a.engine.peer(b.engine.publicKey)!;
  // The first initiation is lost; WireGuard alone would retry only after REKEY_TIMEOUT.
  network.filter = () => false;
  a.sendPacket(ipv4Packet(a.meshAddress, b.meshAddress), network.now);
  network.settle();
  assertEquals(sentOfType(a, 1).length, 1);
  network.filter = () => true;
  // Too soon after that one (its answer could be in flight; the receiver's flood limit).
  network.advance(FRESH_PATH_INITIATION_GAP - 100);
  assertEquals(a.engine.initiateOnFreshPath(peer, network.now), false);
  assertEquals(sentOfType(a, 1).length, 1);
  network.advance(100);
  assertEquals(a.engine.initiateOnFreshPath(peer, network.now), true);
  network.settle();
  assertEquals(sentOfType(a, 1).length, 2);
  assertEquals(sentOfType(b, 2).length, 1);
  assertTrue(b.delivered.length === 1, "the staged packet went out with the new session");
  // A current session: nothing to do, however much later.
  network.advance(FRESH_PATH_INITIATION_GAP * 4);
  assertEquals(a.engine.initiateOnFreshPath(peer, network.now), false);
  assertEquals(sentOfType(a, 1).length, 2);
});
