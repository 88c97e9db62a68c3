/**
 * Service policies end to end (issue 14): three `meshguard up` daemons in namespaces. Node 1
 * runs `service default deny`, `allow tcp 80` for everyone, `allow --peer node2 tcp 22` and
 * `allow udp 5353`, all written with the CLI before it starts. Its workers must then let node 2
 * reach 22 while node 3 times out there but reaches 80 and pings; the UDP rule works; replies to
 * connections node 1 opens pass the default deny; a live edit applies without a restart; a bad
 * edit keeps the policy in force; drops show per rule in `status --json`. One lab, one start-up.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { withDeadline } from "./helpers/deadline.ts";
import { MeshLab, meshSkipReason } from "./helpers/mesh_lab.ts";
import type { NamespaceProcess } from "./helpers/namespace_process.ts";
import { probe as probeFrom, serveProbes } from "./helpers/probes.ts";

const skip = await meshSkipReason();
if (skip) console.log(skip);

const JOIN_TIMEOUT_MS = 60_000;
/** A probe that should fail waits this long for an answer that never comes. */
const BLOCKED_MS = 2_000;
/** A probe that should pass gets this long (the first packet may wait for a handshake). */
const OPEN_MS = 8_000;

Deno.test({
  name:
    "mesh: service policies in the data plane (default deny, per-peer port, UDP, replies, live edit)",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lab = await MeshLab.create({ nodes: 3, trusts: (from, to) => from !== to });
    const servers: NamespaceProcess[] = [];
    const serve = async (k: number, tcp: number[], udp: number[], v6 = false) => {
      servers.push(await serveProbes(lab, k, tcp, udp, v6));
    };
    /** One probe from node `from` to node `to`'s mesh IPv4 (or IPv6): "ok …", "timeout" or "error …". */
    const probe = probeFrom.bind(null, lab);
    const config = lab.node(1).configDir;
    try {
      await lab.meshguard(config, "service", "default", "deny");
      await lab.meshguard(config, "service", "allow", "tcp", "80");
      await lab.meshguard(config, "service", "allow", "--peer", "node2", "tcp", "22");
      await lab.meshguard(config, "service", "allow", "udp", "5353");
      await lab.start(1);
      await lab.waitUntilServing(1);
      await lab.start(2, { seeds: [1] });
      await lab.start(3, { seeds: [1] });
      await lab.waitFor(
        async () => {
          const status = await lab.status(1);
          return status.peers.filter((peer) => peer.state === "alive").length === 2;
        },
        JOIN_TIMEOUT_MS,
        "node1 to see nodes 2 and 3",
      );
      await serve(1, [22, 80], [5353, 5354]);
      await serve(1, [22, 80], [], true);
      await serve(2, [7022], [7053]);
      await serve(3, [7022], [7053]);
      await withDeadline(
        (async () => {
          // Pings pass (ICMP always does) and bring the tunnels up.
          await lab.waitForPing(2, lab.node(1).meshIpv4);
          await lab.waitForPing(3, lab.node(1).meshIpv4);
          assertEquals(await probe(2, 1, "tcp", 22, OPEN_MS), "ok hello 22", "node2 → 22");
          assertEquals(await probe(3, 1, "tcp", 22, BLOCKED_MS), "timeout", "node3 → 22");
          assertEquals(await probe(3, 1, "tcp", 80, OPEN_MS), "ok hello 80", "node3 → 80");
          assertEquals(await probe(2, 1, "tcp", 80, OPEN_MS), "ok hello 80", "node2 → 80");
          // The same over IPv6 (the classifier's other half, on real kernel packets).
          assertEquals(await probe(3, 1, "tcp", 22, BLOCKED_MS, true), "timeout", "v6 node3 → 22");
          assertEquals(await probe(3, 1, "tcp", 80, OPEN_MS, true), "ok hello 80", "v6 node3 → 80");
          assertEquals(await probe(2, 1, "tcp", 22, OPEN_MS, true), "ok hello 22", "v6 node2 → 22");
          assertEquals(await probe(3, 1, "udp", 5353, OPEN_MS), "ok ping 5353", "udp 5353");
          assertEquals(await probe(3, 1, "udp", 5354, BLOCKED_MS), "timeout", "udp 5354");
          // Node 1 opens connections out: the replies pass its default deny.
          assertEquals(await probe(1, 2, "tcp", 7022, OPEN_MS), "ok hello 7022", "reply tcp");
          assertEquals(await probe(1, 3, "udp", 7053, OPEN_MS), "ok ping 7053", "reply udp");
          assertTrue(await lab.ping(3, lab.node(1).meshIpv4), "ping under default deny");

          const status = await lab.status(1);
          const policy = status.policy!;
          assertEquals([policy.default, policy.files, policy.rules, policy.error], [
            "deny",
            3,
            3,
            null,
          ]);
          const defaultDrops = policy.drops.find((drop) => drop.source === "default");
          assertTrue((defaultDrops?.drops ?? 0) >= 2, `default drops: ${JSON.stringify(policy)}`);

          // A live edit: node 3 may now reach 22, with no restart.
          await lab.meshguard(config, "service", "allow", "--peer", "node3", "tcp", "22");
          await lab.waitFor(
            async () => (await probe(3, 1, "tcp", 22, BLOCKED_MS)) === "ok hello 22",
            20_000,
            "node3 → 22 after the live edit",
          );
          // A bad edit is refused with its file and line; what was in force stays.
          await Deno.writeTextFile(`${config}/services/global.policy`, "allow tcp eighty\n", {
            append: true,
          });
          const refused = await lab.waitFor(
            async () => {
              const error = (await lab.status(1)).policy?.error;
              return error ?? null;
            },
            20_000,
            "the bad edit to be reported",
          );
          assertTrue(refused.includes("global.policy:3"), refused);
          assertEquals(await probe(3, 1, "tcp", 80, OPEN_MS), "ok hello 80", "kept: 80");
          assertEquals(await probe(2, 1, "tcp", 443, BLOCKED_MS), "timeout", "kept: deny");
        })(),
        180_000,
        "service policy checks",
      );
    } catch (error) {
      console.error(`daemon logs:\n${await lab.logTails()}`);
      throw error;
    } finally {
      await Promise.all(servers.map((server) => server.stop(2_000)));
      await lab.dispose();
    }
    assertEquals(await lab.remainingNamespaces(), [], "namespaces left behind");
  },
});
