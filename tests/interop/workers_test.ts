/**
 * The multi-worker data path on real TUN queues and UDP sockets: a device allowed four data
 * workers starts with one (one queue on its interface), adds the others while many TCP flows
 * keep it busy, the flows arrive intact throughout, more than one worker carries them, `wg show`
 * counts what every worker sent, and a listen-port change leaves only the new sockets open. Idle
 * again (a short --retire-idle), it retires the added workers back to one queue and one socket,
 * still carries a ping and a TCP flow, and grows again under the next load.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { interopSkipReason, Lab, run } from "./helpers/lab.ts";

const skip = interopSkipReason();
const FLOWS = 8;
const BYTES = 4 << 20;
/** --retire-idle for the test (seconds): long enough for the checks between the rounds. */
const RETIRE_IDLE_S = 4;

Deno.test({
  name:
    "workers: starts with 1 of 4 data workers and adds more under 8 TCP flows that arrive intact, carried by several workers; wg show counts them all; idle, back to one queue and socket, still carrying traffic, and grows again",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lab = await Lab.create(["meshguard", "meshguard"], {
      workers: 4,
      retireIdle: RETIRE_IDLE_S,
    });
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
      let transferred = 0;
      const roundsUntil = async (started: number) => {
        const deadline = performance.now() + 90_000;
        let rounds = 0;
        let roundsOverMore = 0;
        while (roundsOverMore === 0) {
          assertTrue(
            performance.now() < deadline,
            `no new worker after ${rounds} rounds:\n${side.process.output}`,
          );
          if (startedCount() >= started) roundsOverMore++;
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
      };
      const startedCount = () =>
        [...side.process.output.matchAll(/data worker \d of 4 started/g)].length;
      const udpPorts = async () =>
        (await run("ip", "netns", "exec", side.namespace, "ss", "-H", "-u", "-l", "-n"))
          .trim().split("\n").map((line) => line.trim().split(/\s+/)[3]);
      await roundsUntil(1);
      const grown = await queues();
      assertTrue(grown.length >= 2 && grown.length <= 4, `queues ${grown.join(" ")}`);
      assertEquals(grown, ["tx-0", "tx-1", "tx-2", "tx-3"].slice(0, grown.length));
      // The lab moved the device from its random start port to 51820 with `wg set` (one worker
      // then): it took a new socket and the old one was closed; workers added later opened
      // theirs on 51820.
      const ports = await udpPorts();
      assertTrue(ports.length >= grown.length, `sockets ${ports.join(" ")}`);
      for (const address of ports) assertEquals(address.split(":").at(-1), "51820");
      const transfer = await lab.wg(0, "show", side.interfaceName, "transfer");
      const sentBytes = Number(transfer.trim().split(/\s+/)[2]);
      assertTrue(
        sentBytes >= transferred,
        `wg show reports ${sentBytes} bytes sent; the flows alone carried ${transferred}`,
      );
      // Idle: the added workers retire, one per idle period, back to the first worker's queue
      // and socket (the kernel steers everything there).
      await side.process.waitFor(/data worker 2 retired .*; 1 running/, 15_000 * grown.length);
      assertEquals(await queues(), ["tx-0"]);
      const left = await udpPorts();
      assertEquals(left.length, 1, `sockets ${left.join(" ")}`);
      await lab.ping(0, lab.sides[1].meshIpv4);
      await lab.ping(1, lab.sides[0].meshIpv4);
      const server = lab.traffic(1, "tcp-server", lab.sides[1].meshIpv4, "7200");
      await server.waitFor(/listening/);
      const client = lab.traffic(0, "tcp-client", lab.sides[1].meshIpv4, "7200", String(1 << 20));
      assertEquals(
        await server.waitFor(/^\d+ [0-9a-f]{64}$/m, 60_000),
        await client.waitFor(/^\d+ [0-9a-f]{64}$/m, 60_000),
        "a TCP flow over the one worker left arrived byte-identical",
      );
      // And it can grow again.
      const before = startedCount();
      await roundsUntil(before + 1);
      assertTrue((await queues()).length >= 2, "grown again");
      await side.process.stop();
      const summary = side.process.output.match(/data workers: (.*)/)?.[1] ?? "";
      const carried = [...summary.matchAll(/(\d+): (\d+) out, (\d+) in/g)]
        .map((match) => Number(match[2]));
      const retired = [...side.process.output.matchAll(/retired .*carried (\d+) out/g)]
        .map((match) => Number(match[1]));
      assertEquals(
        carried.length + retired.length,
        1 + startedCount(),
        `every worker that started reported, at its retirement or the stop: ${summary}`,
      );
      assertTrue(
        [...carried, ...retired].filter((packets) => packets > 100).length >= 2,
        `packets out per worker: ${carried.join(", ")}; retired: ${retired.join(", ")}`,
      );
    } finally {
      await lab.dispose();
    }
  },
});
