import { assertEquals, assertTrue } from "../assert.ts";
import { flowQueue } from "../../lib/device/flow_queue.ts";

function ipv4(source: number[], destination: number[], protocol: number, ports: number[]) {
  const packet = new Uint8Array(40);
  packet[0] = 0x45;
  packet[9] = protocol;
  packet.set(source, 12);
  packet.set(destination, 16);
  packet.set([ports[0] >> 8, ports[0] & 255, ports[1] >> 8, ports[1] & 255], 20);
  return packet;
}

function ipv6(source: number, destination: number, ports: number[]) {
  const packet = new Uint8Array(60);
  packet[0] = 0x60;
  packet[6] = 6;
  packet.set([0xfd, 0x99, 0x6d, 0x67], 8);
  packet[23] = source;
  packet.set([0xfd, 0x99, 0x6d, 0x67], 24);
  packet[39] = destination;
  packet.set([ports[0] >> 8, ports[0] & 255, ports[1] >> 8, ports[1] & 255], 40);
  return packet;
}

const queueOf = (packet: Uint8Array, queues = 4) => flowQueue(packet, 0, packet.length, queues);

Deno.test("flow queue: a flow keeps its queue, in both directions", () => {
  const out = ipv4([10, 99, 0, 1], [10, 99, 0, 2], 6, [40000, 5201]);
  const back = ipv4([10, 99, 0, 2], [10, 99, 0, 1], 6, [5201, 40000]);
  assertEquals(queueOf(out), queueOf(back));
  assertEquals(queueOf(ipv6(1, 2, [40000, 22])), queueOf(ipv6(2, 1, [22, 40000])));
});

Deno.test("flow queue: many flows between two hosts spread over every queue", () => {
  for (const queues of [2, 4, 16]) {
    const counts = new Array(queues).fill(0);
    for (let port = 40000; port < 41000; port++) {
      counts[queueOf(ipv4([10, 99, 0, 1], [10, 99, 0, 2], 6, [port, 5201]), queues)]++;
    }
    const fair = 1000 / queues;
    assertTrue(
      counts.every((count) => count > fair * 0.6 && count < fair * 1.4),
      `${queues} queues: ${counts.join(", ")}`,
    );
  }
});

Deno.test("flow queue: one queue, short, unknown and fragmented packets are handled", () => {
  assertEquals(queueOf(ipv4([10, 99, 0, 1], [10, 99, 0, 2], 6, [1, 2]), 1), 0);
  assertEquals(flowQueue(new Uint8Array(10), 0, 10, 4), 0);
  assertEquals(flowQueue(new Uint8Array(40).fill(0x20), 0, 40, 4), 0);
  const fragment = ipv4([10, 99, 0, 1], [10, 99, 0, 2], 17, [1, 2]);
  fragment[7] = 8; // offset 64 bytes: a later fragment, its "ports" are payload
  const other = fragment.slice();
  other.set([9, 9, 9, 9], 20);
  assertEquals(queueOf(fragment), queueOf(other));
  const icmp = ipv4([10, 99, 0, 1], [10, 99, 0, 2], 1, [7, 7]);
  const icmp2 = ipv4([10, 99, 0, 1], [10, 99, 0, 2], 1, [8, 8]);
  assertEquals(queueOf(icmp), queueOf(icmp2), "ICMP has no ports");
  // The packet may sit anywhere in a buffer.
  const buffer = new Uint8Array(100);
  const packet = ipv4([10, 99, 0, 3], [10, 99, 0, 4], 6, [1234, 80]);
  buffer.set(packet, 16);
  assertEquals(flowQueue(buffer, 16, packet.length, 4), queueOf(packet));
});
