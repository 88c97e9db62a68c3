/**
 * A second data path on the same shared tables, as a device's data worker has: it seals with
 * the keypairs the main thread's engine negotiated, shares their send counters, asks for
 * handshakes and reports key confirmation through events, and its roaming and traffic are what
 * the engine reports.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { loadCoreModule } from "../../lib/crypto/core_module.ts";
import { AllowedIps } from "../../lib/wireguard/allowed_ips.ts";
import { DataPlane } from "../../lib/wireguard/data_plane.ts";
import { DataPlaneState, NONE } from "../../lib/wireguard/data_plane_state.ts";
import { REJECT_AFTER_TIME, REKEY_TIMEOUT } from "../../lib/wireguard/constants.ts";
import { keypairRecordsFor } from "../../lib/wireguard/engine.ts";
import type { Endpoint } from "../../lib/wireguard/endpoint.ts";
import { REKEY_ON_RECEIVE_AGE } from "../../lib/wireguard/peer_timers.ts";
import { FakeNetwork, type Host, ipv4Packet, sendBetween } from "./engine_harness.ts";

interface WorkerPath {
  plane: DataPlane;
  events: string[];
  /** Seals `packet` in the worker's buffer; the datagram goes on the fake wire from `from`. */
  seal(packet: Uint8Array, from: Endpoint): boolean;
  /** Opens a datagram in the worker's buffer; returns the inner packet or null. */
  open(datagram: Uint8Array, source: Endpoint): Uint8Array | null;
}

/**
 * A worker's core whose `aeadSeal` runs `afterSeal` once the seal is done: the seam that lets a
 * test retire the keypair between the seal and the data path's generation check.
 */
function withSealHook(core: CryptoCore, afterSeal: () => void): CryptoCore {
  const exports = { ...core.exports };
  const seal = core.exports.aeadSeal;
  exports.aeadSeal = (...args: Parameters<typeof seal>) => {
    seal(...args);
    afterSeal();
  };
  return Object.create(core, { exports: { value: exports } });
}

async function workerPathFor(
  network: FakeNetwork,
  host: Host,
  peer: Host,
  afterSeal?: () => void,
): Promise<WorkerPath> {
  const instance = CryptoCore.instantiate(
    await loadCoreModule(),
    host.core.memory,
    host.core.layout,
    1,
  );
  const core = afterSeal ? withSealHook(instance, afterSeal) : instance;
  const routes = new AllowedIps<number>();
  routes.insert(peer.meshAddress, 32, host.engine.peer(peer.engine.publicKey)!.id);
  const events: string[] = [];
  const base = core.layout.arenaBase + 65536; // past what the engine uses
  const plane = new DataPlane({
    core,
    state: host.engine.state,
    routes: { peerAt: (bytes, at, length) => routes.lookupIn(bytes, at, length) ?? NONE },
    events: {
      wantHandshake: (p) => events.push(`want ${p}`),
      keypairConfirmed: (p, k) => events.push(`confirmed ${p} ${k}`),
    },
    send: (bytes, to) => network.inject(bytes.slice(), host.endpoint, to),
    writer: 1,
    mtu: 1420,
    nonceAddress: base,
    scratchAddress: base + 64,
    stats: { transportDropped: 0, replayedTransport: 0, spoofedSource: 0, noRoute: 0 },
  });
  const buffer = base + 8192;
  const out = { length: 0, address: new Uint8Array(0), port: 0 };
  return {
    plane,
    events,
    seal(packet, from) {
      core.bytes.set(packet, buffer + 16);
      if (!plane.sealInPlace(buffer, packet.length, network.now, out)) return false;
      network.inject(core.bytes.slice(buffer, buffer + out.length), from, {
        address: out.address,
        port: out.port,
      });
      return true;
    },
    open(datagram, source) {
      core.bytes.set(datagram, buffer);
      const inner = plane.openInPlace(buffer, datagram.length, source, network.now);
      return inner > 0 ? core.bytes.slice(buffer + 16, buffer + 16 + inner) : null;
    },
  };
}

async function setup(afterSeal?: () => void) {
  const network = new FakeNetwork();
  const state = DataPlaneState.create({
    peers: 16,
    keypairs: keypairRecordsFor(64, 64),
    writers: 2,
  });
  const a = await network.addHost("alice", "192.0.2.1:51820", "10.99.0.1", { state });
  const b = await network.addHost("bob", "192.0.2.2:51820", "10.99.0.2");
  network.pair(a, b);
  const worker = await workerPathFor(network, a, b, afterSeal);
  const peerOfB = a.engine.peer(b.engine.publicKey)!;
  return { network, a, b, worker, peerOfB };
}

Deno.test("shared data path: a worker without a session stages, asks once, and sends after the main thread's handshake", async () => {
  const { network, a, b, worker, peerOfB } = await setup();
  const packets = Array.from({ length: 10 }, () => ipv4Packet(a.meshAddress, b.meshAddress));
  for (const packet of packets) assertEquals(worker.seal(packet, a.endpoint), false);
  assertEquals(worker.events, [`want ${peerOfB.id}`], "one request, not one per packet");
  assertTrue(worker.plane.hasStaged(peerOfB.id));
  // What the device does with the request and with the engine's sessionChanged hook:
  a.engine.requestHandshake(peerOfB.id, network.now);
  network.settle();
  assertTrue(a.engine.hasSession(peerOfB, network.now));
  worker.plane.flushStaged(peerOfB.id, network.now);
  network.settle();
  assertEquals(b.delivered, packets, "staged packets arrive, in order");
});

Deno.test("shared data path: the worker and the main thread share one send counter per keypair", async () => {
  const { network, a, b, worker } = await setup();
  a.sendPacket(ipv4Packet(a.meshAddress, b.meshAddress), network.now);
  network.settle();
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 50; i++) {
    const packet = ipv4Packet(a.meshAddress, b.meshAddress);
    sent.push(packet);
    if (i % 2 === 0) assertTrue(worker.seal(packet, a.endpoint));
    else a.sendPacket(packet, network.now);
  }
  network.settle();
  // Separate counters would repeat nonces, and bob's replay window would drop every repeat.
  assertEquals(b.engine.stats.replayedTransport, 0);
  assertEquals(b.delivered.slice(1), sent);
});

Deno.test("shared data path: what a worker receives roams the peer and counts in the engine's figures", async () => {
  const { network, a, b, worker, peerOfB } = await setup();
  a.sendPacket(ipv4Packet(a.meshAddress, b.meshAddress), network.now);
  network.settle();
  const txBefore = peerOfB.txBytes;
  const rxBefore = peerOfB.rxBytes;
  // Bob's datagrams reach alice's worker instead of her engine, from a new port (a NAT rebind).
  const reply = ipv4Packet(b.meshAddress, a.meshAddress);
  b.sendPacket(reply, network.now);
  const datagram = b.sent.at(-1)!;
  const roamed = { address: new Uint8Array([192, 0, 2, 2]), port: 40000 };
  assertEquals(worker.open(datagram.bytes, roamed), reply);
  assertEquals(peerOfB.endpoint, roamed, "the engine sees the endpoint the worker authenticated");
  assertEquals(peerOfB.rxBytes, rxBefore + datagram.bytes.length);
  assertEquals(
    worker.open(datagram.bytes, roamed),
    null,
    "a replay is dropped by the shared window",
  );
  assertEquals(worker.plane.stats.replayedTransport, 1);
  assertTrue(worker.seal(ipv4Packet(a.meshAddress, b.meshAddress), a.endpoint));
  assertTrue(peerOfB.txBytes > txBefore, "the worker's row counts in txBytes");
});

Deno.test("shared data path: a responder keypair confirmed in a worker is reported once, and the engine makes it current", async () => {
  const { network, a, b, worker, peerOfB } = await setup();
  // Bob initiates: alice is the responder and parks the new keypair in `next`.
  b.sendPacket(ipv4Packet(b.meshAddress, a.meshAddress), network.now);
  network.settle();
  assertTrue(a.engine.state.nextKeypair(peerOfB.id) === NONE, "confirmed by the settle already");
  // A second round, with bob's first data delivered to alice's worker instead.
  network.now += 130_000; // bob's keypair is due for a rekey
  network.filter = (datagram) => !(datagram.bytes[0] === 4 && datagram.from === b.endpoint);
  b.sendPacket(ipv4Packet(b.meshAddress, a.meshAddress), network.now);
  network.settle();
  network.filter = () => true;
  const next = a.engine.state.nextKeypair(peerOfB.id);
  assertTrue(next !== NONE, "a new responder keypair waits in next");
  // Bob's keepalive under the new keypair (his first packet with it) reaches alice's worker.
  const keepalive = b.sent.filter((d) => d.bytes[0] === 4).at(-1)!;
  assertEquals(keepalive.bytes.length, 32);
  worker.open(keepalive.bytes, b.endpoint);
  assertEquals(worker.plane.stats.transportDropped, 0);
  assertEquals(worker.events, [`confirmed ${peerOfB.id} ${next}`]);
  worker.open(keepalive.bytes, b.endpoint);
  assertEquals(worker.plane.stats.replayedTransport, 1);
  assertEquals(worker.events.length, 1, "reported once");
  a.engine.confirmKeypair(peerOfB.id, next, network.now);
  assertEquals(a.engine.state.currentKeypair(peerOfB.id), next);
  assertEquals(a.engine.state.nextKeypair(peerOfB.id), NONE);
});

Deno.test("shared data path: a worker never seals with a keypair the engine retired", async () => {
  const { network, a, b, worker, peerOfB } = await setup();
  a.sendPacket(ipv4Packet(a.meshAddress, b.meshAddress), network.now);
  network.settle();
  assertTrue(worker.seal(ipv4Packet(a.meshAddress, b.meshAddress), a.endpoint));
  const id = peerOfB.id;
  a.engine.removePeer(b.engine.publicKey);
  assertEquals(a.engine.state.currentKeypair(id), NONE);
  // The worker's routes still name the old row (a route update is in flight): nothing goes out.
  assertEquals(worker.seal(ipv4Packet(a.meshAddress, b.meshAddress), a.endpoint), false);
  worker.plane.dropStaged(id);
  assertTrue(!worker.plane.hasStaged(id));
});

Deno.test("shared data path: nothing is sent with a keypair older than REJECT_AFTER_TIME", async () => {
  const { network, a, b, worker, peerOfB } = await setup();
  a.sendPacket(ipv4Packet(a.meshAddress, b.meshAddress), network.now);
  network.settle();
  const createdAt = a.engine.state.keypairCreatedAt(a.engine.state.currentKeypair(peerOfB.id));
  assertTrue(worker.plane.hasSession(peerOfB.id, createdAt + REJECT_AFTER_TIME - 1));
  assertTrue(!worker.plane.hasSession(peerOfB.id, createdAt + REJECT_AFTER_TIME));
});

Deno.test("shared data path: a packet whose keypair is retired while it is sealed goes out intact under the next keypair", async () => {
  let race = () => {};
  const { network, a, b, worker, peerOfB } = await setup(() => race());
  a.sendPacket(ipv4Packet(a.meshAddress, b.meshAddress), network.now);
  network.settle();
  const state = a.engine.state;
  const old = state.currentKeypair(peerOfB.id);
  const oldGeneration = state.keypairGeneration(old);
  // The race: while the worker seals, the main thread completes two handshakes, which pushes
  // the worker's keypair out (retired, its key slot wiped) and a newer one becomes current.
  race = () => {
    race = () => {};
    for (let round = 0; round < 2; round++) {
      network.now += REKEY_TIMEOUT + 1;
      a.engine.requestHandshake(peerOfB.id, network.now);
      network.settle();
    }
    a.core.setKey(2 * old + 1, new Uint8Array(32).fill(0xa5)); // as a reuse of the record would
  };
  const packet = ipv4Packet(a.meshAddress, b.meshAddress);
  const deliveredBefore = b.delivered.length;
  assertEquals(worker.seal(packet, a.endpoint), false, "the first seal lost the race");
  assertTrue(state.keypairGeneration(old) !== oldGeneration, "the seam retired the keypair");
  const current = state.currentKeypair(peerOfB.id);
  assertTrue(current !== NONE && current !== old, "a newer keypair is current");
  network.settle();
  assertEquals(
    b.delivered.slice(deliveredBefore),
    [packet],
    "the packet arrives as it was sent, under the new keypair",
  );
  assertTrue(!worker.plane.hasStaged(peerOfB.id));
});

Deno.test("shared data path: the initiator asks for a rekey when a packet arrives under a keypair REJECT − KEEPALIVE − REKEY_TIMEOUT old", async () => {
  const { network, a, b, worker, peerOfB } = await setup();
  a.engine.requestHandshake(peerOfB.id, network.now); // alice initiates: the keypair is hers
  network.settle();
  const createdAt = a.engine.state.keypairCreatedAt(a.engine.state.currentKeypair(peerOfB.id));
  const captured: Uint8Array[] = [];
  network.filter = (datagram) => {
    if (datagram.to.port !== a.endpoint.port || datagram.bytes[0] !== 4) return true;
    captured.push(datagram.bytes);
    return false; // the worker, not the engine, opens what bob sends
  };
  const receiveAt = (age: number) => {
    network.now = createdAt + age;
    sendBetween(network, b, a);
    assertTrue(worker.open(captured.pop()!, b.endpoint) !== null);
  };
  receiveAt(REKEY_ON_RECEIVE_AGE - 1);
  assertEquals(worker.events, []);
  receiveAt(REKEY_ON_RECEIVE_AGE);
  assertEquals(worker.events, [`want ${peerOfB.id}`]);
});
