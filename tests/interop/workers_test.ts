/**
 * The multi-worker data path on real TUN queues and UDP sockets: a device with four data
 * workers has four queues on its interface, many TCP flows through it arrive intact, more than
 * one worker carries them, `wg show` counts what every worker sent, and a listen-port change
 * leaves only the new sockets open.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { interopSkipReason, Lab, run } from "./helpers/lab.ts";

const skip = interopSkipReason();
const FLOWS = 8;
const BYTES = 4 << 20;

Deno.test({
  name:
    "workers: 4 data workers, 4 TUN queues; 8 TCP flows arrive intact, carried by several workers; wg show counts them all",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lab = await Lab.create(["meshguard", "meshguard"], { workers: 4 });
    try {
      const side = lab.sides[0];
      const queues = await run(
        "ip",
        "netns",
        "exec",
        side.namespace,
        "ls",
        `/sys/class/net/${side.interfaceName}/queues`,
      );
      assertEquals(
        queues.split(/\s+/).filter((name) => name.startsWith("tx-")).sort(),
        ["tx-0", "tx-1", "tx-2", "tx-3"],
      );
      await lab.ping(0, lab.sides[1].meshIpv4);
      // Eight flows at once: the kernel spreads them over the TUN queues by flow hash.
      await Promise.all(Array.from({ length: FLOWS }, async (_, i) => {
        const port = String(7100 + i);
        const server = lab.traffic(1, "tcp-server", lab.sides[1].meshIpv4, port);
        await server.waitFor(/listening/);
        const client = lab.traffic(0, "tcp-client", lab.sides[1].meshIpv4, port, String(BYTES));
        const sent = await client.waitFor(/^\d+ [0-9a-f]{64}$/m, 120_000);
        const received = await server.waitFor(/^\d+ [0-9a-f]{64}$/m, 120_000);
        assertEquals(received, sent, `flow ${i} arrived byte-identical`);
      }));
      // The lab moved the device from its random start port to 51820 with `wg set`: every
      // worker took a new socket, and the four it left were closed.
      const sockets = await run(
        "ip",
        "netns",
        "exec",
        side.namespace,
        "ss",
        "-H",
        "-u",
        "-l",
        "-n",
      );
      const ports = sockets.trim().split("\n").map((line) => line.trim().split(/\s+/)[3]);
      assertEquals(ports.map((address) => address.split(":").at(-1)), [
        "51820",
        "51820",
        "51820",
        "51820",
      ]);
      const transfer = await lab.wg(0, "show", side.interfaceName, "transfer");
      const sentBytes = Number(transfer.trim().split(/\s+/)[2]);
      assertTrue(
        sentBytes >= FLOWS * BYTES,
        `wg show reports ${sentBytes} bytes sent; the flows alone carried ${FLOWS * BYTES}`,
      );
      await side.process.stop();
      const summary = side.process.output.match(/data workers: (.*)/)?.[1] ?? "";
      const carried = [...summary.matchAll(/(\d+): (\d+) out, (\d+) in/g)]
        .map((match) => Number(match[2]));
      assertEquals(carried.length, 4, `every worker reported: ${summary}`);
      assertTrue(
        carried.filter((packets) => packets > 100).length >= 2,
        `packets out per worker: ${carried.join(", ")}`,
      );
    } finally {
      await lab.dispose();
    }
  },
});
