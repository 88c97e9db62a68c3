/**
 * The TUN offload through whole in-process devices: a device whose TUN carries virtio-net
 * headers splits super-packets into MTU-sized, correctly checksummed packets that a plain
 * device (offloads off) delivers byte for byte, writes what it receives behind a plain header,
 * and survives malformed reads. Both devices hold the service policy as before.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { GsoSplitter } from "../../lib/device/gso_splitter.ts";
import { DeviceLab } from "./in_process_device.ts";
import { checksumsValid, payloadByte, superPacket } from "./offload_packets.ts";
import { udpPacket } from "./packets.ts";

const A = "10.99.0.1";
const B = "10.99.0.2";

async function mixedLab() {
  const lab = new DeviceLab(7);
  const a = await lab.add("192.0.2.1:51820", { workers: 2, vnetHeader: true });
  const b = await lab.add("192.0.2.2:51820", { workers: 2 });
  lab.pair(a, b, [`${A}/32`], [`${B}/32`]);
  return { lab, a, b };
}

/** A plain (GSO_NONE, fully checksummed) vnet read of `packet`. */
function plainRead(packet: Uint8Array): Uint8Array {
  const read = new Uint8Array(10 + packet.length);
  read.set(packet, 10);
  return read;
}

Deno.test("offload: a 64 KB TCP super-packet leaves as MTU-sized packets the plain peer delivers intact", async () => {
  const { lab, a, b } = await mixedLab();
  a.tun.sendRead(plainRead(udpPacket(A, B, 1)));
  lab.settle();
  assertEquals(b.tun.packets().length, 1, "the first packet arrives after the handshake");
  const payload = 63_000;
  a.tun.sendRead(superPacket({ payload, gsoSize: 1380, sequence: 5 }));
  a.tun.sendRead(superPacket({ v6: false, udp: true, payload: 5000, gsoSize: 1000, seed: 3 }));
  lab.settle();
  const got = b.tun.packets().slice(1);
  const tcp = got.filter((p) => p[9] === 6);
  const udp = got.filter((p) => p[9] === 17);
  assertEquals(tcp.length, Math.ceil(payload / 1380));
  assertEquals(udp.length, 5);
  let offset = 0;
  for (const packet of tcp) {
    assertTrue(packet.length <= 1420, `a ${packet.length}-byte packet`);
    assertTrue(checksumsValid(packet), "checksums valid on arrival");
    const seq = new DataView(packet.buffer, packet.byteOffset).getUint32(24);
    assertEquals(seq, 5 + offset, "in order, no gap");
    for (let i = 40; i < packet.length; i++) {
      if (packet[i] !== payloadByte(1, offset + i - 40)) throw new Error(`byte ${offset + i - 40}`);
    }
    offset += packet.length - 40;
  }
  assertEquals(offset, payload);
  for (const packet of udp) assertTrue(checksumsValid(packet), "UDP segments valid");
});

Deno.test("offload: received packets are written behind a plain virtio-net header; malformed reads are dropped", async () => {
  const { lab, a, b } = await mixedLab();
  const sent = [udpPacket(B, A, 1, { body: 1300 }), udpPacket(B, A, 2, { body: 4 })];
  for (const packet of sent) b.tun.send(packet);
  lab.settle();
  const written = a.tun.packets();
  assertEquals(written.length, sent.length);
  written.forEach((write, i) => {
    assertEquals([...write.subarray(0, 10)], new Array(10).fill(0), "plain header");
    assertEquals([...write.subarray(10)], [...sent[i]]);
  });
  const broken = superPacket({ payload: 9000, gsoSize: 1380 });
  broken[1] = 0x42; // an unknown gso_type
  a.tun.sendRead(broken);
  a.tun.sendRead(new Uint8Array(5));
  a.tun.sendRead(plainRead(udpPacket(A, B, 9)));
  lab.settle();
  const splitters = a.loops.map((loop) => loop.splitter!);
  assertEquals(splitters.reduce((n, s) => n + s.malformed, 0), 2, "both counted");
  assertEquals(b.tun.packets().length, 1, "the good read after them still went through");
});

/** The segments the kernel would cut `read` into (the splitter is the reference). */
async function segmentsOf(reads: Uint8Array[], room = 1420): Promise<Uint8Array[]> {
  const core = await CryptoCore.create({ arenaBytes: 1 << 18 });
  const splitter = new GsoSplitter(core.bytes, (at, n) => core.exports.checksumSum(at, n));
  const inAt = core.layout.arenaBase;
  const outAt = inAt + 70_000;
  const out: Uint8Array[] = [];
  for (const read of reads) {
    core.bytes.set(read, inAt);
    if (!splitter.begin(inAt, read.length, room)) throw new Error("a malformed super-packet");
    for (let n; (n = splitter.next(outAt)) > 0;) out.push(core.bytes.slice(outAt, outAt + n));
  }
  return out;
}

Deno.test("offload: a batch of one flow's TCP segments reaches a vnet TUN as one super-packet; other packets pass as is, in order", async () => {
  const lab = new DeviceLab(9);
  const a = await lab.add("192.0.2.1:51820", { workers: 1 });
  const b = await lab.add("192.0.2.2:51820", { workers: 1, vnetHeader: true });
  lab.pair(a, b, [`${A}/32`], [`${B}/32`]);
  a.tun.send(udpPacket(A, B, 1));
  lab.settle();
  assertEquals(b.tun.packets().length, 1);
  // 30 segments of one flow (valid checksums, as a host would send them), a UDP packet after
  // the 10th, then 20 more segments of a second flow (IPv4 only: the routes are IPv4).
  const flow1 = await segmentsOf([superPacket({ payload: 30 * 1380, gsoSize: 1380, sequence: 7 })]);
  const second = superPacket({ payload: 20 * 1000 - 5, gsoSize: 1000, seed: 4 });
  second[10 + 21] = 0x51; // source port 0x9c51: another flow
  const flow2 = await segmentsOf([second]);
  const udp = udpPacket(A, B, 2, { body: 100 });
  const host = [...flow1.slice(0, 10), udp, ...flow1.slice(10), ...flow2];
  for (const packet of host) a.tun.send(packet);
  lab.settle();
  const writes = b.tun.packets().slice(1);
  const plain = writes.filter((w) => w[1] === 0);
  const gso = writes.filter((w) => w[1] !== 0);
  assertEquals(plain.map((w) => [...w.subarray(10)]), [[...udp]], "the UDP packet as is");
  assertTrue(gso.length >= 2 && gso.length <= 4, `${gso.length} super-packets`);
  assertEquals(b.loops[0].coalescer!.coalesced, 50);
  // Cut apart again as the kernel would, they are the very segments the host sent.
  const again = await segmentsOf(gso);
  const hex = (list: Uint8Array[]) => list.map((p) => [...p].join(","));
  assertEquals(hex(again.filter((p) => p[21] !== 0x51)), hex(flow1), "flow 1, byte for byte");
  assertEquals(hex(again.filter((p) => p[21] === 0x51)), hex(flow2), "flow 2, byte for byte");
});

Deno.test("offload: with UDP GRO each coalesced datagram is opened; TCP runs become super-packets, other packets pass once each", async () => {
  const lab = new DeviceLab(11);
  const a = await lab.add("192.0.2.1:51820", { workers: 1 });
  const b = await lab.add("192.0.2.2:51820", {
    workers: 1,
    vnetHeader: true,
    receiveCoalescing: true,
  });
  lab.pair(a, b, [`${A}/32`], [`${B}/32`]);
  a.tun.send(udpPacket(A, B, 1));
  lab.settle();
  const flow = await segmentsOf([superPacket({ payload: 40 * 1380, gsoSize: 1380, seed: 6 })]);
  // Same-size UDP packets coalesce on the wire too; each must reach the host once, intact.
  const udps = Array.from({ length: 5 }, (_, i) => udpPacket(A, B, 10 + i, { body: 1380 - 8 }));
  for (const packet of [...flow.slice(0, 20), ...udps, ...flow.slice(20)]) a.tun.send(packet);
  lab.settle();
  const writes = b.tun.packets().slice(1);
  const gso = writes.filter((w) => w[1] !== 0);
  const plain = writes.filter((w) => w[1] === 0).map((w) => [...w.subarray(10)].join(","));
  assertEquals(plain, udps.map((p) => [...p].join(",")), "UDP packets once each, in order");
  const again = await segmentsOf(gso);
  assertEquals(again.map((p) => [...p].join(",")), flow.map((p) => [...p].join(",")));
  assertTrue(gso.length <= 4, `${gso.length} super-packets for 40 segments`);
});

Deno.test("offload: with USO on the receiver's TUN, one flow's UDP datagrams reach it as one super-packet that cuts back into them", async () => {
  const lab = new DeviceLab(13);
  const a = await lab.add("192.0.2.1:51820", { workers: 1 });
  const b = await lab.add("192.0.2.2:51820", {
    workers: 1,
    vnetHeader: true,
    receiveCoalescing: true,
    tunUdpSegmentation: true,
  });
  lab.pair(a, b, [`${A}/32`], [`${B}/32`]);
  a.tun.send(udpPacket(A, B, 1));
  lab.settle();
  // 30 datagrams as a host sends them (ids counting up, checksums valid), the last shorter,
  // with a packet of another kind in the middle.
  const flow = await segmentsOf([
    superPacket({ udp: true, payload: 29 * 1200 + 300, gsoSize: 1200, seed: 8 }),
  ]);
  const other = udpPacket(A, B, 2, { body: 100 }); // no checksum: not coalesced
  for (const packet of [...flow.slice(0, 12), other, ...flow.slice(12)]) a.tun.send(packet);
  lab.settle();
  const writes = b.tun.packets().slice(1);
  const gso = writes.filter((w) => w[1] !== 0);
  const plain = writes.filter((w) => w[1] === 0).map((w) => [...w.subarray(10)].join(","));
  assertEquals(plain, [[...other].join(",")], "the other packet as is");
  assertTrue(gso.length >= 1 && gso.length <= 3, `${gso.length} super-packets for 30 datagrams`);
  assertEquals(b.loops[0].coalescer!.udp!.coalesced, 30);
  const again = await segmentsOf(gso);
  assertEquals(again.map((p) => [...p].join(",")), flow.map((p) => [...p].join(",")));
});
