/**
 * Batched UDP between two namespaces joined by veth: 64 datagrams per direction with
 * sendmmsg/recvmmsg, IPv4 (as ::ffff: on the dual-stack sockets) and IPv6, payloads written
 * into and read back out of WebAssembly.Memory (plain and shared) through the slot views.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { ip, IS_ROOT, SKIP_REASON, uniqueTag, withNamespaces } from "./helpers/netns.ts";
import { patternLength } from "./helpers/packets.ts";

if (!IS_ROOT) console.log(SKIP_REASON);

const COUNT = 64;

/** Joins namespaces a and b with a veth pair; the pair dies with the namespaces. */
async function joinWithVeth(a: string, b: string): Promise<void> {
  const tag = uniqueTag();
  const [left, right] = [`mgt${tag}a`, `mgt${tag}b`];
  await ip("link", "add", left, "netns", a, "type", "veth", "peer", "name", right, "netns", b);
  await ip("-n", a, "addr", "add", "198.51.100.1/24", "dev", left);
  await ip("-n", b, "addr", "add", "198.51.100.2/24", "dev", right);
  // nodad: the addresses are usable at once instead of after duplicate address detection.
  await ip("-n", a, "addr", "add", "fd99:6d67::a/64", "dev", left, "nodad");
  await ip("-n", b, "addr", "add", "fd99:6d67::b/64", "dev", right, "nodad");
  await ip("-n", a, "link", "set", left, "up");
  await ip("-n", b, "link", "set", right, "up");
}

for (
  const family of [
    { name: "IPv4", a: "198.51.100.1", b: "198.51.100.2", shared: false },
    { name: "IPv6", a: "fd99:6d67::a", b: "fd99:6d67::b", shared: true },
  ]
) {
  Deno.test({
    name: `netns: sendBatch/receiveBatch of ${COUNT} datagrams over veth, ${family.name}, ` +
      `${family.shared ? "shared " : ""}wasm memory both ends`,
    ignore: !IS_ROOT,
    fn: () =>
      withNamespaces(2, async ([nsA, nsB], startAgent) => {
        await joinWithVeth(nsA, nsB);
        const [agentA, agentB] = await Promise.all([startAgent(nsA), startAgent(nsB)]);
        const big = { receiveBufferBytes: 4 << 20 }; // room for a whole batch, no drops
        const socketA = await agentA.call("udp.open", big);
        const socketB = await agentB.call("udp.open", big);
        assertTrue(
          socketA.receiveBufferBytes >= 4 << 20,
          `SO_RCVBUF ${socketA.receiveBufferBytes}`,
        );

        // One single datagram first: it also resolves the neighbours, so no batch waits on ARP/ND.
        await agentA.call("udp.sendTo", {
          id: socketA.id,
          address: family.b,
          port: socketB.port,
          hex: "68656c6c6f",
        });
        const hello = await agentB.call("udp.receiveFrom", { id: socketB.id, timeoutMs: 5000 });
        assertEquals(hello.hex, "68656c6c6f");
        assertEquals(hello.address, family.a);
        assertEquals(hello.port, socketA.port);

        const directions = [
          {
            from: agentA,
            fromSocket: socketA,
            to: agentB,
            toSocket: socketB,
            address: family.b,
            source: family.a,
            seed: 1,
          },
          {
            from: agentB,
            fromSocket: socketB,
            to: agentA,
            toSocket: socketA,
            address: family.a,
            source: family.b,
            seed: 2,
          },
        ];
        for (const d of directions) {
          const sent = await d.from.call("udp.sendBatch", {
            id: d.fromSocket.id,
            count: COUNT,
            address: d.address,
            port: d.toSocket.port,
            seed: d.seed,
            shared: family.shared,
            timeoutMs: 5000,
          });
          assertEquals(sent, { accepted: COUNT, sendErrors: 0, lastSendErrno: 0 });
          const got = await d.to.call("udp.receiveBatch", {
            id: d.toSocket.id,
            slots: COUNT,
            expected: COUNT,
            seed: d.seed,
            shared: family.shared,
            timeoutMs: 10_000,
          });
          assertEquals(got.received, COUNT);
          assertEquals(got.mismatches, 0, "a payload differs from what was sent");
          assertEquals(
            [...got.lengths].sort((x: number, y: number) => x - y),
            Array.from({ length: COUNT }, (_, i) => patternLength(i)).sort((x, y) => x - y),
          );
          assertEquals(got.sources, [`${d.source}:${d.fromSocket.port}`]);
          assertTrue(got.calls <= COUNT && got.largestBatch >= 1);
        }
      }),
  });
}

Deno.test({
  name: "netns: sendBatch drops only the datagram the kernel refuses and sends the rest",
  ignore: !IS_ROOT,
  fn: () =>
    withNamespaces(1, async ([ns], startAgent) => {
      const agent = await startAgent(ns);
      const sender = await agent.call("udp.open", {});
      const receiver = await agent.call("udp.open", {});
      const sent = await agent.call("udp.sendBatch", {
        id: sender.id,
        count: 8,
        address: "127.0.0.1",
        port: receiver.port,
        seed: 3,
        unreachableAt: 3, // 192.0.2.1: no route in a fresh namespace
        timeoutMs: 5000,
      });
      assertEquals(sent, { accepted: 7, sendErrors: 1, lastSendErrno: 101 });
      const got = await agent.call("udp.receiveBatch", {
        id: receiver.id,
        slots: 8,
        expected: 7,
        seed: 3,
        timeoutMs: 5000,
      });
      assertEquals([got.received, got.mismatches], [7, 0]);
      assertTrue(!got.lengths.includes(patternLength(3)), "the refused datagram arrived anyway");
    }),
});

Deno.test({
  name: "netns: sendBatch with UDP GSO: 64 equal datagrams to one peer arrive as 64, in order",
  ignore: !IS_ROOT,
  fn: () =>
    withNamespaces(2, async ([nsA, nsB], startAgent) => {
      await joinWithVeth(nsA, nsB);
      const [agentA, agentB] = await Promise.all([startAgent(nsA), startAgent(nsB)]);
      const big = { receiveBufferBytes: 4 << 20 };
      for (const family of [{ b: "198.51.100.2" }, { b: "fd99:6d67::b" }]) {
        const socketA = await agentA.call("udp.open", big);
        const socketB = await agentB.call("udp.open", big);
        await agentA.call("udp.sendTo", {
          id: socketA.id,
          address: family.b,
          port: socketB.port,
          hex: "00",
        });
        await agentB.call("udp.receiveFrom", { id: socketB.id, timeoutMs: 5000 });
        // 1,452 bytes: a 1,420-byte inner packet sealed; 64 of them make two GSO messages.
        const sent = await agentA.call("udp.sendBatch", {
          id: socketA.id,
          count: COUNT,
          address: family.b,
          port: socketB.port,
          seed: 5,
          equalLength: 1452,
          segmentation: true,
          timeoutMs: 5000,
        });
        assertEquals(sent, {
          accepted: COUNT,
          sendErrors: 0,
          lastSendErrno: 0,
          segmenting: true,
          segmentationRefused: 0,
        });
        const got = await agentB.call("udp.receiveBatch", {
          id: socketB.id,
          slots: COUNT,
          expected: COUNT,
          seed: 5,
          equalLength: 1452,
          timeoutMs: 10_000,
        });
        assertEquals(got.received, COUNT);
        assertEquals(got.mismatches, 0, "a payload differs from what was sent");
        assertEquals(got.order, Array.from({ length: COUNT }, (_, i) => i), "datagram order");
        assertEquals(
          got.lengths,
          Array.from({ length: COUNT }, (_, i) => i === COUNT - 1 ? 1352 : 1452),
          "segment boundaries kept",
        );
        // Varied sizes with GSO on: groups break at every size change, nothing is merged.
        const varied = await agentA.call("udp.sendBatch", {
          id: socketA.id,
          count: COUNT,
          address: family.b,
          port: socketB.port,
          seed: 6,
          segmentation: true,
          timeoutMs: 5000,
        });
        assertEquals(varied.accepted, COUNT);
        const gotVaried = await agentB.call("udp.receiveBatch", {
          id: socketB.id,
          slots: COUNT,
          expected: COUNT,
          seed: 6,
          timeoutMs: 10_000,
        });
        assertEquals([gotVaried.received, gotVaried.mismatches], [COUNT, 0]);
        assertEquals(
          gotVaried.lengths,
          Array.from({ length: COUNT }, (_, i) => patternLength(i)),
        );
      }
    }),
});

Deno.test({
  name: "netns: sendBatch falls back to plain sendmmsg when the kernel refuses GSO, losing nothing",
  ignore: !IS_ROOT,
  fn: () =>
    withNamespaces(1, async ([ns], startAgent) => {
      const agent = await startAgent(ns);
      const sender = await agent.call("udp.open", {});
      const receiver = await agent.call("udp.open", { receiveBufferBytes: 4 << 20 });
      const sent = await agent.call("udp.sendBatch", {
        id: sender.id,
        count: COUNT,
        address: "127.0.0.1",
        port: receiver.port,
        seed: 7,
        equalLength: 1452,
        segmentation: true,
        noChecksum: true,
        timeoutMs: 5000,
      });
      assertEquals(sent, {
        accepted: COUNT,
        sendErrors: 0,
        lastSendErrno: 0,
        segmenting: false,
        segmentationRefused: 22, // EINVAL: no GSO without UDP checksums
      });
      const got = await agent.call("udp.receiveBatch", {
        id: receiver.id,
        slots: COUNT,
        expected: COUNT,
        seed: 7,
        equalLength: 1452,
        timeoutMs: 10_000,
      });
      assertEquals([got.received, got.mismatches], [COUNT, 0]);
      assertEquals(got.order, Array.from({ length: COUNT }, (_, i) => i), "datagram order");
    }),
});
