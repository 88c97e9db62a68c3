import { assertEquals } from "../assert.ts";
import { FakeNetwork, type Host, ipv4Packet, sendBetween } from "./engine_harness.ts";

/** A host's engine works on its own core's memory; these helpers copy across the fake wire. */
function coreOf(host: Host) {
  // deno-lint-ignore no-explicit-any
  return (host.engine as any).core as {
    bytes: Uint8Array;
    layout: { arenaBase: number };
  };
}

async function pairedHosts() {
  const network = new FakeNetwork();
  const a = await network.addHost("alice", "192.0.2.1:51820", "10.99.0.1");
  const b = await network.addHost("bob", "192.0.2.2:51820", "10.99.0.2");
  network.pair(a, b);
  sendBetween(network, a, b); // a session exists from here on
  return { network, a, b };
}

Deno.test("in-place seal: a packet sealed in wasm memory opens on the receiving host", async () => {
  const { network, a, b } = await pairedHosts();
  const core = coreOf(a);
  const at = core.layout.arenaBase + 64;
  for (const size of [4, 40, 300, 1392]) {
    const packet = ipv4Packet(a.meshAddress, b.meshAddress, size);
    core.bytes.set(packet, at + 16);
    const sealed = { length: 0, address: new Uint8Array(0), port: 0 };
    assertEquals(a.engine.dataPlane.sealInPlace(at, packet.length, network.now, sealed), true);
    assertEquals({ address: sealed.address, port: sealed.port }, b.endpoint);
    assertEquals((sealed.length - 32) % 16 === 0 || sealed.length - 32 === 1420, true);
    b.receive(core.bytes.slice(at, at + sealed.length), a.endpoint, network.now);
    assertEquals(b.delivered.at(-1), packet);
  }
});

Deno.test("in-place open: reference-sealed packets open in wasm memory; replays and forgeries do not", async () => {
  const { network, a, b } = await pairedHosts();
  const core = coreOf(a);
  const at = core.layout.arenaBase + 4096;
  const packet = ipv4Packet(b.meshAddress, a.meshAddress, 500);
  b.sendPacket(packet, network.now);
  const message = b.sent.at(-1)!.bytes;
  core.bytes.set(message, at);
  const length = a.engine.dataPlane.openInPlace(at, message.length, b.endpoint, network.now);
  assertEquals(length, packet.length);
  assertEquals(core.bytes.slice(at + 16, at + 16 + length), packet);
  // The same message again is a replay.
  core.bytes.set(message, at);
  assertEquals(a.engine.dataPlane.openInPlace(at, message.length, b.endpoint, network.now), 0);
  assertEquals(a.engine.stats.replayedTransport, 1);
  // A flipped bit fails authentication and leaves the bytes as they were.
  b.sendPacket(ipv4Packet(b.meshAddress, a.meshAddress, 64), network.now);
  const fresh = b.sent.at(-1)!.bytes.slice();
  fresh[40] ^= 1;
  core.bytes.set(fresh, at);
  assertEquals(a.engine.dataPlane.openInPlace(at, fresh.length, b.endpoint, network.now), 0);
  assertEquals(core.bytes.slice(at, at + fresh.length), fresh);
  // Handshake messages are not for the in-place path.
  core.bytes.set([1, 0, 0, 0], at);
  assertEquals(a.engine.dataPlane.openInPlace(at, 148, b.endpoint, network.now), -1);
});

Deno.test("in-place seal without a session stages a copy and starts a handshake", async () => {
  const network = new FakeNetwork();
  const a = await network.addHost("alice", "192.0.2.1:51820", "10.99.0.1");
  const b = await network.addHost("bob", "192.0.2.2:51820", "10.99.0.2");
  network.pair(a, b);
  const core = coreOf(a);
  const at = core.layout.arenaBase + 64;
  const packet = ipv4Packet(a.meshAddress, b.meshAddress, 100);
  core.bytes.set(packet, at + 16);
  const out = { length: 0, address: new Uint8Array(0), port: 0 };
  assertEquals(a.engine.dataPlane.sealInPlace(at, packet.length, network.now, out), false);
  core.bytes.fill(0xee, at, at + 200); // the caller reuses its buffer at once
  network.settle();
  assertEquals(b.delivered, [packet]);
});
