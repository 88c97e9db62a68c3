/**
 * Two whole devices' data paths in one process (engine, several data path loops, fake TUN
 * queues and sockets, fake time): what `meshguard device` does with real threads and FFI.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { encodeHex } from "../../lib/encoding/base64.ts";
import {
  MESSAGE_DATA,
  REJECT_AFTER_TIME,
  REKEY_AFTER_TIME,
} from "../../lib/wireguard/constants.ts";
import { NONE } from "../../lib/wireguard/data_plane_state.ts";
import { DeviceLab, type InProcessDevice } from "./in_process_device.ts";
import type { ForeignDatagram } from "../../lib/device/device_protocol.ts";
import { writeHeader } from "../../lib/swim/header.ts";
import { MessageType } from "../../lib/swim/constants.ts";
import { udpPacket } from "./packets.ts";
import { encodeBindingRequest, parseStunResponse } from "../../lib/stun/stun_message.ts";
import { formatIpAddress } from "../../lib/net/ip_address.ts";

const A = "10.99.0.1";
const B = "10.99.0.2";

async function pairedLab(workers = 2, seed = 1) {
  const lab = new DeviceLab(seed);
  const a = await lab.add("192.0.2.1:51820", { workers });
  const b = await lab.add("192.0.2.2:51820", { workers });
  lab.pair(a, b, [`${A}/32`], [`${B}/32`]);
  return { lab, a, b };
}

function peerOf(device: InProcessDevice, other: InProcessDevice) {
  return device.engine.peer(other.engine.publicKey)!;
}

/** Packets a device delivered to its host, as hex (readable diffs). */
function delivered(device: InProcessDevice, from = 0): string[] {
  return device.tun.packets().slice(from).map(encodeHex);
}

Deno.test("in-process device: the first packet waits for the handshake, then both directions carry identical bytes", async () => {
  const { lab, a, b } = await pairedLab();
  const first = udpPacket(A, B, 1);
  a.tun.send(first);
  lab.settle();
  assertTrue(a.engine.hasSession(peerOf(a, b), lab.now), "a completed a handshake");
  assertEquals(delivered(b), [encodeHex(first)], "the staged packet arrives after it");
  const toA: Uint8Array[] = [];
  const toB: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const big = udpPacket(A, B, 100 + i, { body: 1 + i * 33 });
    const back = udpPacket(B, A, 200 + i, { sourcePort: 9, destinationPort: 40000, body: 7 * i });
    toB.push(big);
    toA.push(back);
    a.tun.send(big);
    b.tun.send(back);
  }
  lab.settle();
  assertEquals(delivered(b, 1), toB.map(encodeHex));
  assertEquals(delivered(a), toA.map(encodeHex));
  for (const device of [a, b]) {
    for (const loop of device.loops) {
      assertEquals(loop.plane.stats.transportDropped, 0);
      assertEquals(loop.plane.stats.replayedTransport, 0);
    }
  }
});

Deno.test("in-process device: across REKEY_AFTER_TIME a new keypair takes over and no packet is lost", async () => {
  const { lab, a, b } = await pairedLab();
  a.tun.send(udpPacket(A, B, 0));
  lab.settle();
  const peer = peerOf(a, b);
  const firstKeypair = a.engine.state.currentKeypair(peer.id);
  const firstIndex = peer.keypairs.current!.localIndex;
  const sent = { a: 1, b: 0 };
  // Traffic both ways every second for 1.5 × REKEY_AFTER_TIME.
  for (let t = 0; t < REKEY_AFTER_TIME * 1.5; t += 1_000) {
    a.tun.send(udpPacket(A, B, ++sent.a));
    b.tun.send(udpPacket(B, A, ++sent.b, { sourcePort: 9, destinationPort: 40000 }));
    lab.advance(1_000, 250);
  }
  lab.settle();
  assertTrue(peer.keypairs.current!.localIndex !== firstIndex, "a rekeyed");
  assertTrue(a.engine.state.currentKeypair(peer.id) !== NONE);
  assertTrue(
    lab.now - a.engine.state.keypairCreatedAt(a.engine.state.currentKeypair(peer.id)) <
      REKEY_AFTER_TIME,
    "the current keypair is younger than REKEY_AFTER_TIME",
  );
  assertTrue(firstKeypair !== NONE);
  assertEquals(b.tun.written.length, sent.a, "every packet from a arrived");
  assertEquals(a.tun.written.length, sent.b, "every packet from b arrived");
  // Past REJECT_AFTER_TIME of the first keypair, traffic still flows on the new one.
  lab.advance(REJECT_AFTER_TIME - REKEY_AFTER_TIME, 1_000);
  const late = udpPacket(A, B, 999_999);
  a.tun.send(late);
  lab.settle();
  assertEquals(delivered(b).at(-1), encodeHex(late));
});

Deno.test("in-process device: a peer that roams to a new port is answered there", async () => {
  const { lab, a, b } = await pairedLab();
  a.tun.send(udpPacket(A, B, 1));
  lab.settle();
  const oldSocket = b.sockets[0];
  // b moves to another port (as after a NAT rebinding) and speaks first.
  assertEquals(b.answer("set=1\nlisten_port=40001\n\n"), "errno=0\n\n");
  assertTrue(oldSocket.closed);
  b.tun.send(udpPacket(B, A, 2, { sourcePort: 9, destinationPort: 40000 }));
  lab.settle();
  assertEquals(peerOf(a, b).endpoint?.port, 40001, "a follows b's authenticated source");
  const reply = udpPacket(A, B, 3);
  a.tun.send(reply);
  lab.settle();
  assertEquals(delivered(b).at(-1), encodeHex(reply), "the reply reached the new port");
  const toNew = a.sockets.flatMap((socket) => socket.sent)
    .filter((d) => d.bytes[0] === MESSAGE_DATA && d.to.port === 40001);
  assertTrue(toNew.length > 0);
  assertEquals(lab.network.unreachable, 0, "nothing went to the port b left");
});

Deno.test("in-process device: a forged source never moves the endpoint", async () => {
  const { lab, a, b } = await pairedLab();
  a.tun.send(udpPacket(A, B, 1));
  lab.settle();
  b.tun.send(udpPacket(B, A, 2, { sourcePort: 9, destinationPort: 40000 }));
  lab.settle();
  assertEquals(a.tun.written.length, 1);
  // Someone replays b's last datagram from elsewhere: it is a replay, so no roaming.
  const last = b.sockets.flatMap((s) => s.sent).filter((d) => d.bytes[0] === MESSAGE_DATA).at(
    -1,
  )!;
  lab.network.send({
    bytes: last.bytes.slice(),
    from: { address: new Uint8Array([203, 0, 113, 9]), port: 6666 },
    to: a.endpoint,
  });
  lab.settle();
  assertEquals(peerOf(a, b).endpoint?.port, 51820);
  const replays = a.loops.reduce((n, loop) => n + loop.plane.stats.replayedTransport, 0);
  assertEquals(replays, 1);
});

Deno.test("in-process device: flows spread over queues and workers, which share counters and replay windows", async () => {
  const { lab, a, b } = await pairedLab(4, 7);
  a.tun.send(udpPacket(A, B, 0));
  lab.settle();
  const flows = 32;
  const perFlow = new Map<number, string[]>();
  for (let round = 0; round < 8; round++) {
    for (let flow = 0; flow < flows; flow++) {
      const packet = udpPacket(A, B, round * 1000 + flow, { sourcePort: 20000 + flow });
      a.tun.send(packet);
      perFlow.set(flow, [...(perFlow.get(flow) ?? []), encodeHex(packet)]);
    }
    lab.settle();
  }
  const busyQueues = a.tun.queues.filter((queue) => queue.reads > 0).length;
  const sealing = a.loops.filter((loop) => loop.packetsOut > 0).length;
  assertTrue(busyQueues >= 3, `flows spread over the queues (${busyQueues} of 4 read)`);
  assertTrue(sealing >= 3, `several workers sealed (${sealing} of 4)`);
  // One send counter per keypair over all workers: a repeat would be dropped as a replay.
  const replayed = b.loops.reduce((n, loop) => n + loop.plane.stats.replayedTransport, 0);
  assertEquals(replayed, 0);
  for (let flow = 0; flow < flows; flow++) {
    const got = b.tun.written.map((w) => w.packet)
      .filter((p) => new DataView(p.buffer, p.byteOffset).getUint16(20) === 20000 + flow)
      .map(encodeHex);
    assertEquals(got, perFlow.get(flow), `flow ${flow} arrives whole and in order`);
  }
  // Written packets go to their flow's queue on b too: replies would be sealed by many workers.
  assertTrue(new Set(b.tun.written.map((w) => w.queue)).size >= 3);
  // The replay window is shared: a's datagram replayed into another worker's socket is dropped.
  const datagram = a.sockets.flatMap((s) => s.sent).filter((d) => d.bytes[0] === MESSAGE_DATA)
    .at(-1)!;
  const owner = b.loops.findIndex((loop) => loop.packetsIn > 0);
  const other = (owner + 1) % b.loops.length;
  const before = b.tun.written.length;
  b.sockets[other].queue.push({ bytes: datagram.bytes.slice(), from: a.endpoint, to: b.endpoint });
  lab.settle();
  assertEquals(b.tun.written.length, before, "the replay was not delivered");
  assertEquals(b.loops[other].plane.stats.replayedTransport, 1, "dropped by the other worker");
});

Deno.test("in-process device: a peer removed mid-flow gets nothing more through, and what waited for it is dropped", async () => {
  const { lab, a, b } = await pairedLab();
  a.tun.send(udpPacket(A, B, 1));
  lab.settle();
  assertEquals(b.tun.written.length, 1);
  const peerOfA = peerOf(b, a);
  // b queues packets for a while the wire is down: they wait (staged) for a handshake.
  lab.network.filter = () => false;
  lab.advance(REJECT_AFTER_TIME, 1_000); // the session expired: new packets must be staged
  for (let i = 0; i < 5; i++) {
    b.tun.send(udpPacket(B, A, 10 + i, { sourcePort: 9 + i, destinationPort: 40000 }));
  }
  lab.settle();
  assertTrue(b.loops.some((loop) => loop.plane.hasStaged(peerOfA.id)), "packets are staged");
  assertEquals(
    b.answer(`set=1\npublic_key=${encodeHex(a.engine.publicKey)}\nremove=true\n\n`),
    "errno=0\n\n",
  );
  lab.settle();
  assertTrue(b.loops.every((loop) => !loop.plane.hasStaged(peerOfA.id)), "staged dropped");
  assertEquals(b.engine.peer(a.engine.publicKey), undefined);
  // The wire comes back; a keeps sending: nothing reaches b's host, nothing reaches a's.
  lab.network.filter = () => true;
  const beforeA = a.tun.written.length;
  for (let i = 0; i < 5; i++) a.tun.send(udpPacket(A, B, 100 + i));
  b.tun.send(udpPacket(B, A, 200, { sourcePort: 9, destinationPort: 40000 }));
  lab.advance(20_000, 1_000);
  assertEquals(b.tun.written.length, 1, "no packet of the removed peer was delivered");
  assertEquals(a.tun.written.length, beforeA, "b routes nothing to the removed peer");
  assertTrue(b.loops.some((loop) => loop.plane.stats.noRoute > 0));
  assertTrue(b.engine.stats.unknownPeer > 0, "a's handshakes are refused");
});

Deno.test("in-process device: SWIM datagrams on the port reach membership after the workers' precheck, and membership's go out from the port", async () => {
  const lab = new DeviceLab(3);
  const heard: ForeignDatagram[] = [];
  const a = await lab.add("192.0.2.1:51820", { onSwimDatagrams: (d) => heard.push(...d) });
  const b = await lab.add("192.0.2.2:51820");
  const swim = new Uint8Array(100);
  writeHeader(swim, MessageType.Ping, 1, 2, 3, new Uint8Array(32));
  const malformed = swim.slice();
  malformed[6] = 1; // reserved byte
  b.sendDatagrams([
    { address: "192.0.2.1:51820", data: swim },
    { address: "192.0.2.1:51820", data: malformed },
  ]);
  lab.settle();
  assertEquals(heard.map((d) => [d.address, encodeHex(d.data)]), [[
    "192.0.2.2:51820",
    encodeHex(swim),
  ]]);
  assertEquals(a.swimDrops.malformed, 1);
  // b does not forward SWIM at all (not in mesh mode): the datagram stays in its workers.
  a.sendDatagrams([{ address: "192.0.2.2:51820", data: swim }]);
  lab.settle();
  assertEquals(b.swimDrops.malformed, 0);
  assertEquals(b.tun.written.length, 0);
});

Deno.test("in-process device: the workers answer a STUN Binding request with the observed source and drop a malformed one", async () => {
  const lab = new DeviceLab(4);
  const heard: ForeignDatagram[] = [];
  const a = await lab.add("192.0.2.1:51820", { onSwimDatagrams: () => {} });
  const b = await lab.add("192.0.2.2:51820", { onSwimDatagrams: (d) => heard.push(...d) });
  const id = new Uint8Array(12).map((_, i) => i + 1);
  const request = encodeBindingRequest(id);
  const malformed = request.slice(0, request.length - 4); // length field no longer matches
  b.sendDatagrams([
    { address: "192.0.2.1:51820", data: request },
    { address: "192.0.2.1:51820", data: malformed },
  ]);
  lab.settle();
  assertEquals(heard.length, 1, "exactly one answer, for the well-formed request");
  assertEquals(heard[0].address, "192.0.2.1:51820");
  const parsed = parseStunResponse(heard[0].data);
  assertTrue(parsed.ok);
  if (!parsed.ok) return;
  assertEquals(encodeHex(parsed.response.transactionId), encodeHex(id));
  assertTrue(parsed.response.fingerprint);
  assertEquals(formatIpAddress(parsed.response.mapped!.address), "192.0.2.2");
  assertEquals(parsed.response.mapped!.port, 51820);
  assertEquals(a.stunServing, { answered: 1, rateLimited: 0, malformed: 1 });
  // The answer is no bigger than our request's 44 bytes plus 8 (IPv6: 52).
  assertTrue(heard[0].data.length <= request.length);
});
