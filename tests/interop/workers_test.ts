/**
 * The multi-worker data path on real TUN queues and UDP sockets: a device allowed four data
 * workers starts with one (one queue on its interface), adds the others while many TCP flows
 * keep it busy, the flows arrive intact throughout, more than one worker carries them, `wg show`
 * counts what every worker sent, and a listen-port change leaves only the new sockets open.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { interopSkipReason, Lab, run } from "./helpers/lab.ts";

const skip = interopSkipReason();
const FLOWS = 8;
const BYTES = 4 << 20;

Deno.test({
  name:
    "workers: starts with 1 of 4 data workers and adds more under 8 TCP flows that arrive intact, carried by several workers; wg show counts them all",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lab = await Lab.create(["meshguard", "meshguard"], { workers: 4 });
    try {
      const side = lab.sides[0];
      const queues = async () =>
        (await run(
          "ip",
          "netns",
          "exec",
          side.namespace,
          "ls",
          `/sys/class/net/${side.interfaceName}/queues`,
        )).split(/\s+/).filter((name) => name.startsWith("tx-")).sort();
      // An idle device runs one worker (one queue, one socket): the others cost memory.
      assertEquals(await queues(), ["tx-0"]);
      assertTrue(/1 data worker \(up to 4 under load\)/.test(side.process.output));
      await lab.ping(0, lab.sides[1].meshIpv4);
      // Rounds of eight flows at once until a busy worker has brought up another, then one more
      // round over both (bounded: the growth is what is tested, not how fast it is on a shared
      // machine, where it may or may not go on to four).
      const deadline = performance.now() + 90_000;
      let rounds = 0;
      let transferred = 0;
      let roundsOverMore = 0;
      while (roundsOverMore === 0) {
        assertTrue(
          performance.now() < deadline,
          `still one worker after ${rounds} rounds:\n${side.process.output}`,
        );
        if (/data worker 2 of 4 started/.test(side.process.output)) roundsOverMore++;
        rounds++;
        // The kernel spreads the flows over the TUN queues there are by flow hash.
        await Promise.all(Array.from({ length: FLOWS }, async (_, i) => {
          const port = String(7100 + i);
          const server = lab.traffic(1, "tcp-server", lab.sides[1].meshIpv4, port);
          await server.waitFor(/listening/);
          const client = lab.traffic(0, "tcp-client", lab.sides[1].meshIpv4, port, String(BYTES));
          const sent = await client.waitFor(/^\d+ [0-9a-f]{64}$/m, 120_000);
          const received = await server.waitFor(/^\d+ [0-9a-f]{64}$/m, 120_000);
          assertEquals(received, sent, `flow ${i} of round ${rounds} arrived byte-identical`);
        }));
        transferred += FLOWS * BYTES;
      }
      const grown = await queues();
      assertTrue(grown.length >= 2 && grown.length <= 4, `queues ${grown.join(" ")}`);
      assertEquals(grown, ["tx-0", "tx-1", "tx-2", "tx-3"].slice(0, grown.length));
      // The lab moved the device from its random start port to 51820 with `wg set` (one worker
      // then): it took a new socket and the old one was closed; workers added later opened
      // theirs on 51820.
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
      assertTrue(ports.length >= grown.length, `sockets ${ports.join(" ")}`);
      for (const address of ports) assertEquals(address.split(":").at(-1), "51820");
      const transfer = await lab.wg(0, "show", side.interfaceName, "transfer");
      const sentBytes = Number(transfer.trim().split(/\s+/)[2]);
      assertTrue(
        sentBytes >= transferred,
        `wg show reports ${sentBytes} bytes sent; the flows alone carried ${transferred}`,
      );
      await side.process.stop();
      const summary = side.process.output.match(/data workers: (.*)/)?.[1] ?? "";
      const carried = [...summary.matchAll(/(\d+): (\d+) out, (\d+) in/g)]
        .map((match) => Number(match[2]));
      const started = 1 + [...side.process.output.matchAll(/data worker \d of 4 started/g)].length;
      assertEquals(carried.length, started, `every worker that started reported: ${summary}`);
      assertTrue(
        carried.filter((packets) => packets > 100).length >= 2,
        `packets out per worker: ${carried.join(", ")}`,
      );
    } finally {
      await lab.dispose();
    }
  },
});
