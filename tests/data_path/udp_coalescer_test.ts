/**
 * USO towards the TUN (`lib/device/udp_coalescer.ts`, behind the TCP coalescer): one flow's
 * datagrams of a batch become one GSO_UDP_L4 super-packet whose header and fields are what the
 * kernel needs and which cuts back (the splitter stands in for the kernel) into exactly the
 * datagrams sent; what may not join is written as it is, and each flow keeps its order.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_UDP_L4,
} from "../../lib/device/virtio_net_header.ts";
import { referenceSum } from "./offload_packets.ts";
import { udpPacket } from "./packets.ts";
import { coalesceRig as rig, udpFlow as flow } from "./coalesce_rig.ts";

const hex = (list: Uint8Array[]) => list.map((p) => [...p].join(","));

for (const v6 of [false, true]) {
  Deno.test(`udp coalescer: one flow's datagrams become one GSO_UDP_L4 super-packet that cuts back into them (${v6 ? "IPv6" : "IPv4"})`, async () => {
    const { coalescer, cut, batch } = await rig();
    // 20 datagrams of 1,000 bytes and a shorter last one.
    const sent = flow(cut, { v6, payload: 20 * 1000 + 500, gsoSize: 1000, seed: 5 });
    assertEquals(sent.length, 21);
    const writes = batch(sent);
    assertEquals(writes.length, 1, "one write");
    const write = writes[0];
    const ip = v6 ? 40 : 20;
    const header = new DataView(write.buffer, write.byteOffset);
    assertEquals(write[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
    assertEquals(write[1], VIRTIO_NET_HDR_GSO_UDP_L4);
    assertEquals(header.getUint16(2, true), ip + 8, "hdr_len: IP and UDP headers");
    assertEquals(header.getUint16(4, true), 1000, "gso_size: the datagrams' payload");
    assertEquals(header.getUint16(6, true), ip, "csum_start: the UDP header");
    assertEquals(header.getUint16(8, true), 6, "csum_offset: the UDP checksum");
    const packet = write.subarray(10);
    const view = new DataView(packet.buffer, packet.byteOffset);
    const l4Length = packet.length - ip;
    assertEquals(packet.length, ip + 8 + 20 * 1000 + 500);
    if (v6) assertEquals(view.getUint16(4), l4Length, "IPv6 payload length");
    else {
      assertEquals(view.getUint16(2), packet.length, "IPv4 total length");
      assertEquals(referenceSum(packet.subarray(0, 20)), 0xffff, "IPv4 header checksum");
    }
    assertEquals(view.getUint16(ip + 4), l4Length, "UDP length: the whole super-packet");
    // The kernel adjusts this pseudo-header sum to each segment's length and adds its bytes.
    const pseudo = referenceSum(v6 ? packet.subarray(8, 40) : packet.subarray(12, 20)) + 17 +
      l4Length;
    assertEquals(view.getUint16(ip + 6), referenceSum(new Uint8Array(0), pseudo));
    assertEquals(hex(cut(write)), hex(sent), "byte for byte, in order");
    assertEquals(coalescer.udp!.superPackets, 1);
    assertEquals(coalescer.udp!.coalesced, 21);
  });
}

Deno.test("udp coalescer: at most 64 datagrams per super-packet; a longer batch makes two", async () => {
  const { cut, batch } = await rig();
  const sent = flow(cut, { payload: 70 * 300, gsoSize: 300, seed: 2 });
  const writes = batch(sent);
  assertEquals(writes.length, 2);
  assertEquals(writes.map((w) => cut(w).length), [64, 6]);
  assertEquals(hex(writes.flatMap(cut)), hex(sent));
});

Deno.test("udp coalescer: datagrams that may not join go as they are, each flow in order", async () => {
  const { coalescer, cut, batch } = await rig();
  const one = flow(cut, { payload: 8 * 600, gsoSize: 600, seed: 1 });
  const two = flow(cut, { payload: 6 * 700, gsoSize: 700, seed: 9, sourcePort: 41000 });
  one[2][26] = one[2][27] = 0; // no checksum (IPv4 allows it): it would come out computed
  one[5][40] ^= 0x5a; // a payload byte the checksum no longer covers
  one[6][8]--; // the TTL changed mid-flow (header checksum redone: only the TTL differs)
  one[6][10] = one[6][11] = 0;
  const headerSum = ~referenceSum(one[6].subarray(0, 20)) & 0xffff;
  [one[6][10], one[6][11]] = [headerSum >>> 8, headerSum & 0xff];
  two.splice(3, 1); // an id gap: the flow's run is cut in two
  const other = udpPacket("10.99.0.1", "10.99.0.2", 3); // no checksum: written plain
  const sent = [one[0], two[0], one[1], two[1], one[2], one[3], two[2], one[4], other];
  sent.push(two[3], one[5], one[6], two[4], one[7]);
  const writes = batch(sent);
  const got = writes.flatMap((w) => w[1] === 0 ? [w.slice(10)] : cut(w));
  const port = (p: Uint8Array) => (p[20] << 8) | p[21];
  for (const [name, list] of [["one", one], ["two", two]] as const) {
    // `other` shares flow one's ports but is far shorter.
    const inFlow = got.filter((p) => port(p) === port(list[0]) && p.length > other.length);
    assertEquals(hex(inFlow), hex(sent.filter((p) => list.includes(p))), `flow ${name}`);
  }
  assertEquals(got.length, sent.length, "each datagram once");
  const plain = writes.filter((w) => w[1] === 0).map((w) => w.slice(10));
  for (const odd of [one[2], one[5], one[6], other]) {
    assertTrue(hex(plain).includes(hex([odd])[0]), "an odd one is written as it is");
  }
  // Flow two: [0, 1, 2] and [4, 5] (after the gap) are the two super-packets it can make.
  assertTrue(coalescer.udp!.superPackets >= 2, `${coalescer.udp!.superPackets} super-packets`);
});

Deno.test("udp coalescer: without USO on the TUN, UDP is written as it is", async () => {
  const { coalescer, cut, batch } = await rig(false);
  assertEquals(coalescer.udp, null);
  const sent = flow(cut, { payload: 10 * 1000, gsoSize: 1000 });
  const writes = batch(sent);
  assertEquals(writes.length, 10);
  assertTrue(writes.every((w) => w[1] === 0));
  assertEquals(hex(writes.map((w) => w.slice(10))), hex(sent));
});

Deno.test("udp coalescer: a TUN that refuses super-packets gets every datagram one by one, then no more super-packets", async () => {
  const { coalescer, cut, batch, refused } = await rig(true, true);
  const sent = flow(cut, { payload: 12 * 900, gsoSize: 900, seed: 4 });
  const first = batch(sent);
  assertEquals(hex(first.map((w) => w.slice(10))), hex(sent), "all of them, in order");
  assertTrue(first.every((w) => w[1] === 0), "plain writes");
  assertEquals(coalescer.udp!.refusal, "write(tun): Invalid argument");
  assertEquals(coalescer.udp!.superPackets, 0);
  assertEquals(refused(), 1);
  const again = batch(sent);
  assertEquals(refused(), 1, "no super-packet tried again");
  assertEquals(hex(again.map((w) => w.slice(10))), hex(sent));
});
