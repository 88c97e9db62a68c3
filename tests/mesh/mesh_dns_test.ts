/**
 * Mesh names end to end: two `meshguard up` daemons in network namespaces, asked with Debian's
 * `dig` (bind9-dnsutils) and the system resolver (ping by name). One lab serves every step.
 */

import { fileURLToPath } from "node:url";
import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { withDeadline } from "./helpers/deadline.ts";
import { MeshLab, meshSkipReason } from "./helpers/mesh_lab.ts";
import { dig, digSkipReason, parseDig } from "./helpers/probes.ts";

const skip = await meshSkipReason() ?? await digSkipReason();
if (skip) console.log(skip);

const GARBAGE = fileURLToPath(new URL("./helpers/dns_garbage.ts", import.meta.url));
const JOIN_TIMEOUT_MS = 60_000;

Deno.test({
  name: "mesh dns: names over UDP and TCP from another node, PTR, NXDOMAIN, REFUSED, " +
    "garbage survived, ping by name",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lab = await MeshLab.create({ nodes: 2, trusts: () => true });
    const resolvConf = `/etc/netns/${lab.node(1).namespace}`;
    try {
      await withDeadline(
        (async () => {
          const [one, two] = [lab.node(1), lab.node(2)];
          await lab.start(1);
          await lab.start(2, { seeds: [1] });
          await lab.waitUntilServing(1);
          await lab.waitUntilServing(2);
          await lab.waitFor(
            async () => {
              const status = await lab.status(1);
              return status.peers.some((peer) => peer.name === "node2" && peer.state === "alive");
            },
            JOIN_TIMEOUT_MS,
            "node 1 to see node 2 alive",
          );
          await lab.waitForPing(1, two.meshIpv4);
          // The first query may meet a handshake in progress: wait for one answer, then assert.
          await lab.waitFor(
            async () => (await dig(lab, 1, `@${two.meshIpv4}`, "node1.mesh")).code === 0,
            20_000,
            "node 2's resolver to answer node 1",
          );

          // From node 1, across the tunnel, node 2's resolver: node 2 knows node 1 as "node1".
          const a = parseDig(await dig(lab, 1, `@${two.meshIpv4}`, "node1.mesh", "A"));
          assertEquals(a, { status: "NOERROR", answers: [one.meshIpv4] });
          const aaaa = parseDig(await dig(lab, 1, `@${two.meshIpv6}`, "NODE1.mesh", "AAAA"));
          assertEquals(aaaa, { status: "NOERROR", answers: [one.meshIpv6] });
          const tcp = parseDig(await dig(lab, 1, "+tcp", `@${two.meshIpv4}`, "node1.mesh", "A"));
          assertEquals(tcp, { status: "NOERROR", answers: [one.meshIpv4] });
          // Node 1's own resolver for node 2, and reverse lookups of both ranges.
          const local = parseDig(await dig(lab, 1, `@${one.meshIpv4}`, "node2.mesh", "A"));
          assertEquals(local.answers, [two.meshIpv4]);
          const ptr4 = parseDig(await dig(lab, 1, `@${one.meshIpv4}`, "-x", two.meshIpv4));
          assertEquals(ptr4.answers, ["node2.mesh."]);
          const ptr6 = parseDig(await dig(lab, 1, `@${one.meshIpv4}`, "-x", two.meshIpv6));
          assertEquals(ptr6.answers, ["node2.mesh."]);
          const unknown = parseDig(await dig(lab, 1, `@${two.meshIpv4}`, "nobody.mesh", "A"));
          assertEquals(unknown, { status: "NXDOMAIN", answers: [] });
          const outside = parseDig(await dig(lab, 1, `@${two.meshIpv4}`, "example.com", "A"));
          assertEquals(outside, { status: "REFUSED", answers: [] });

          // status names the peers.
          const status = await lab.status(1);
          const peer = status.peers.find((entry) => entry.name === "node2");
          assertEquals(peer?.dns_name, "node2.mesh");
          assertIncludes(await lab.statusTable(1), "node2.mesh");
          // The holder of each name is recorded for restarts.
          await lab.waitFor(
            () =>
              Deno.readTextFile(`${one.configDir}/name_holders`)
                .then((text) => text.includes(`node2.mesh ${two.publicKey}`)),
            10_000,
            "node 1 to record node2.mesh in name_holders",
          );

          // Garbage over UDP and TCP: the daemon lives on and still answers.
          const sender = lab.spawnHelper(1, GARBAGE, [two.meshIpv6, two.meshIpv4, "3000"]);
          await sender.waitForOutput(/^sent 3000$/m, 60_000);
          const tcpLine = await sender.waitForOutput(/^tcp answered \d+ of 10$/m, 30_000);
          await sender.stop();
          // At most 8 connections per source (earlier garbage ones may still hold a few).
          console.log(`  ${tcpLine} (per-source cap 8)`);
          const served = Number(tcpLine.match(/answered (\d+)/)![1]);
          assertTrue(served >= 1 && served <= 8, `${tcpLine}: the per-source TCP cap is 8`);
          assertTrue(two.daemon!.status === null, "node 2's daemon exited after garbage");
          const after = parseDig(await dig(lab, 1, `@${two.meshIpv4}`, "node1.mesh", "A"));
          assertEquals(after, { status: "NOERROR", answers: [one.meshIpv4] });

          // The system resolver: ping by name (ip netns exec mounts /etc/netns/<ns>/resolv.conf).
          await Deno.mkdir(resolvConf, { recursive: true });
          await Deno.writeTextFile(`${resolvConf}/resolv.conf`, `nameserver ${one.meshIpv4}\n`);
          const ping = await lab.pingOnce(1, "node2.mesh");
          assertEquals(ping.code, 0, `ping node2.mesh failed:\n${ping.stdout}${ping.stderr}`);
          // getaddrinfo gets A and AAAA and picks one: either is node 2.
          assertTrue(
            ping.stdout.includes(two.meshIpv4) || ping.stdout.includes(two.meshIpv6),
            `ping node2.mesh went elsewhere:\n${ping.stdout}`,
          );
        })(),
        150_000,
        "mesh dns",
      );
    } catch (error) {
      console.error(`daemon logs:\n${await lab.logTails()}`);
      throw error;
    } finally {
      await Deno.remove(resolvConf, { recursive: true }).catch(() => {});
      await lab.dispose();
    }
    assertEquals(await lab.remainingNamespaces(), [], "namespaces left behind");
  },
});
