/**
 * The NAT lab proves itself: from a host in each site a STUN Binding probe asks coturn at both of
 * its addresses for the mapped address, and each NAT type shows the behaviour it was built for
 * (mapping, filtering, hairpinning, timeouts, rebinding, loss, blocked WANs). One lab is shared
 * by the steps; each step names its bounded budget and the last step checks that `dispose()`
 * leaves nothing behind.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { withDeadline } from "../mesh/helpers/deadline.ts";
import { MESH_PORT, MeshLab } from "../mesh/helpers/mesh_lab.ts";
import type { NamespaceProcess } from "../mesh/helpers/namespace_process.ts";
import { NatLab, natLabSkipReason, pollUntil, STUN_IPS, STUN_SERVERS } from "./helpers/nat_lab.ts";
import { NatKnobs } from "./helpers/nat_knobs.ts";
import { NatProbes } from "./helpers/nat_probes.ts";
import { BLOCK_TABLE } from "./helpers/nat_rules.ts";

const skip = await natLabSkipReason();
if (skip) console.log(skip);

/** The local port the probes bind (the mesh port, so mappings look like the daemon's). */
const PORT = 51821;
/** A port coturn does not use, for datagrams sent "from the STUN server's address". */
const OTHER_PORT = 4000;

function split(address: string | null): [string, number] {
  if (address === null) throw new Error("no mapped address (the server did not answer)");
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

/** The mapped address in the watch probe's latest `reply <n> <mapped>` line, and n. */
function lastReply(probe: NamespaceProcess): { count: number; mapped: string } {
  const replies = [...probe.output.matchAll(/^reply (\d+) (\S+)$/gm)];
  const last = replies.at(-1);
  if (!last) throw new Error(`no reply yet:\n${probe.output}`);
  return { count: Number(last[1]), mapped: last[2] };
}

/** Waits until the watch probe has printed a reply numbered above `count`. */
async function replyAfter(probe: NamespaceProcess, count: number): Promise<void> {
  await probe.waitForOutput(new RegExp(`^reply ${count + 1} `, "m"), 5_000);
}

/**
 * Waits until the router's drop counter (`read`) has counted `count` more drops than `before`;
 * throws at once if the watch probe received anything unsolicited meanwhile (a leak).
 */
async function droppedNotDelivered(
  watch: NamespaceProcess,
  read: () => Promise<number>,
  before: number,
  count: number,
  leak: string,
): Promise<void> {
  const leaked = () => /^unsolicited /m.test(watch.output);
  await pollUntil(async () => leaked() || await read() >= before + count, 5_000, `${count} drops`);
  assertTrue(!leaked(), `${leak}:\n${watch.output}`);
  // Replies sent after the drops still arrive through the mapping, and nothing else did.
  await replyAfter(watch, lastReply(watch).count);
  await watch.stop();
  assertTrue(!leaked(), `${leak}:\n${watch.output}`);
}

/** Waits until `read()` exceeds `before` (a drop counter), returning the new value. */
function countAbove(read: () => Promise<number>, before: number, what: string): Promise<number> {
  return pollUntil(
    async () => {
      const now = await read();
      return now > before ? now : null;
    },
    5_000,
    what,
  );
}

/**
 * Two real `meshguard up` daemons: node 1 on the public host (the seed), node 2 behind the cone
 * NAT. The seed learns node 2's reflexive endpoint (the NAT's WAN address) from what arrives, so
 * the tunnel forms without any NAT traversal; both ping over mesh IPv4, the seed also over IPv6.
 */
async function meshAcrossCone(lab: NatLab): Promise<void> {
  const hosts = [lab.site("public").hosts[0], lab.site("cone").hosts[0]];
  const mesh = new MeshLab({
    nodes: 2,
    trusts: () => true,
    placement: (k) => ({ namespace: hosts[k - 1].namespace, underlay: hosts[k - 1].ip }),
  });
  try {
    await mesh.build();
    // Once `up` learns --stun, only the lab's coturn may be asked: nothing leaves the lab.
    const help = await mesh.cli("up", "--help");
    const stun = /--stun/.test(help.stdout + help.stderr)
      ? STUN_SERVERS.flatMap((server) => ["--stun", server])
      : [];
    await mesh.start(1, { extraArgs: [...stun, "--workers", "1"] });
    await mesh.waitUntilServing(1);
    await mesh.start(2, { seeds: [1], extraArgs: [...stun, "--workers", "1"] });
    const seen = await mesh.waitFor(
      async () => {
        const status = await mesh.status(1);
        const peer = status.peers.find((entry) => entry.public_key === mesh.node(2).publicKey);
        return peer?.state === "alive" && peer.last_handshake !== null ? peer : null;
      },
      45_000,
      "the seed to list the NATed node alive with a handshake",
    );
    // The seed reaches node 2 at the cone router's WAN address, port preserved.
    assertEquals(seen.endpoint, `${lab.site("cone").publicIp}:${MESH_PORT}`);
    await mesh.waitForPing(2, mesh.node(1).meshIpv4, 15_000);
    await mesh.waitForPing(1, mesh.node(2).meshIpv4, 15_000);
    await mesh.waitForPing(1, mesh.node(2).meshIpv6, 15_000);
  } catch (error) {
    console.error(`daemon logs:\n${await mesh.logTails()}`);
    throw error;
  } finally {
    await mesh.dispose();
  }
}

Deno.test({
  name: "nat lab: every NAT type behaves as built, seen through STUN against coturn",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const started = performance.now();
    const lab = new NatLab([
      { name: "public", nat: "public" },
      { name: "cone", nat: "cone" },
      { name: "sym", nat: "symmetric" },
      { name: "cgnat", nat: "cone", carrier: "cone" },
      { name: "shared", nat: "cone", hosts: 2 },
    ]);
    const knobs = new NatKnobs(lab);
    const probes = new NatProbes(lab);
    const step = (name: string, fn: () => Promise<void>) =>
      t.step(name, async () => {
        const stepStarted = performance.now();
        try {
          await withDeadline(fn(), 30_000, name);
        } finally {
          console.log(`  [${name}: ${((performance.now() - stepStarted) / 1000).toFixed(1)} s]`);
        }
      });
    try {
      const built = await step("build: internet, coturn on two addresses, five sites", async () => {
        await lab.build();
      });
      if (!built) return;

      await step(
        "public: mapped == local at both servers; unsolicited datagrams arrive",
        async () => {
          const result = await probes.query("public", 1, PORT);
          assertEquals(result.mapped, [result.local, result.local]);
          // The filtering checks below count on the watch probe seeing what reaches it.
          const watch = await probes.watch("public", 1, PORT + 1, STUN_SERVERS[0]);
          await probes.send(lab.stun, STUN_IPS[1], OTHER_PORT, lastReply(watch).mapped);
          await watch.waitForOutput(
            new RegExp(`^unsolicited ${STUN_IPS[1]}:${OTHER_PORT}$`, "m"),
            5_000,
          );
          await watch.stop();
        },
      );

      await step("cone: one mapping for both servers (EIM), port preserved", async () => {
        const result = await probes.query("cone", 1, PORT);
        const [first, second] = result.mapped.map(split);
        assertEquals(first, [lab.site("cone").publicIp, PORT]);
        assertEquals(second, first);
      });

      await step("cone: address-and-port-dependent filtering; the reply path works", async () => {
        const watch = await probes.watch("cone", 1, PORT + 2, STUN_SERVERS[0]);
        const mapped = lastReply(watch).mapped;
        const before = await knobs.unsolicitedDrops("cone");
        // Another server address, the same address at another port, and a public host.
        await probes.send(lab.stun, STUN_IPS[1], OTHER_PORT, mapped);
        await probes.send(lab.stun, STUN_IPS[0], OTHER_PORT, mapped);
        await probes.send(
          lab.site("public").hosts[0].namespace,
          lab.site("public").publicIp,
          0,
          mapped,
        );
        const drops = () => knobs.unsolicitedDrops("cone");
        await droppedNotDelivered(watch, drops, before, 3, "leaked through the NAT");
      });

      await step("symmetric: a different mapped port per destination", async () => {
        const result = await probes.query("sym", 1, PORT);
        const [first, second] = result.mapped.map(split);
        assertEquals(first[0], lab.site("sym").publicIp);
        assertEquals(second[0], lab.site("sym").publicIp);
        assertTrue(first[1] !== second[1], `same port ${first[1]} for both servers`);
      });

      await step("double NAT: mapped address is the carrier's, not the home router's", async () => {
        const result = await probes.query("cgnat", 1, PORT);
        const [first, second] = result.mapped.map(split);
        assertEquals(first[0], lab.site("cgnat").publicIp);
        assertEquals(second, first);
        // The home router translated into the carrier's 100.64.0.0/10.
        const homeMappings = (await knobs.mappings("cgnat")).join("\n");
        assertTrue(/dst=100\.64\.\d+\.2 /.test(homeMappings), homeMappings);
      });

      await step("same NAT: two hosts on the same local port get distinct mappings", async () => {
        const watch = await probes.watch("shared", 1, PORT, STUN_SERVERS[0]);
        const result = await probes.query("shared", 2, PORT);
        const [one, two] = [split(lastReply(watch).mapped), split(result.mapped[0])];
        assertEquals(one[0], lab.site("shared").publicIp);
        assertEquals(two[0], lab.site("shared").publicIp);
        assertTrue(one[1] !== two[1], `both hosts mapped to port ${one[1]}`);
        await watch.stop();
      });

      await step("same NAT: no hairpin (host 2 cannot reach host 1's mapping)", async () => {
        const watch = await probes.watch("shared", 1, PORT + 3, STUN_SERVERS[0]);
        const before = await knobs.unsolicitedDrops("shared");
        await probes.sendFromHost("shared", 2, lastReply(watch).mapped);
        const drops = () => knobs.unsolicitedDrops("shared");
        await droppedNotDelivered(watch, drops, before, 1, "hairpinned");
      });

      await step("mapping timeout: after it expires, the port goes to the next comer", async () => {
        const port = PORT + 4;
        await knobs.setUdpTimeouts("shared", 2, 2);
        try {
          const first = split((await probes.query("shared", 1, port)).mapped[0]);
          assertEquals(first[1], port);
          await pollUntil(
            async () =>
              (await knobs.mappings("shared")).every((line) => !line.includes(`sport=${port} `)),
            10_000,
            "the mapping to expire",
          );
          // Host 2 now gets the external port host 1 had, so host 1 needs a new mapping.
          assertEquals(split((await probes.query("shared", 2, port)).mapped[0])[1], port);
          const again = split((await probes.query("shared", 1, port)).mapped[0]);
          assertTrue(again[1] !== port, `host 1 kept port ${port} although host 2 holds it`);
        } finally {
          await knobs.setUdpTimeouts("shared", 30, 120);
        }
      });

      await step(
        "rebinding: conntrack flush + forced port change gives a new mapped port",
        async () => {
          const before = split((await probes.query("cone", 1, PORT)).mapped[0]);
          assertEquals(before[1], PORT);
          await knobs.forcePortChange("cone");
          const after = (await probes.query("cone", 1, PORT)).mapped.map(split);
          assertTrue(after[0][1] >= 40_000 && after[0][1] <= 40_999, `port ${after[0][1]}`);
          assertEquals(after[1], after[0]);
          await knobs.resetNat("cone");
          assertEquals(split((await probes.query("cone", 1, PORT)).mapped[0])[1], PORT);
        },
      );

      await step("port forward: a forwarded port takes unsolicited datagrams", async () => {
        const port = PORT + 6;
        await knobs.forwardPort("sym", 1, port);
        try {
          const watch = await probes.watch("sym", 1, port, STUN_SERVERS[0]);
          await probes.send(
            lab.stun,
            STUN_IPS[1],
            OTHER_PORT,
            `${lab.site("sym").publicIp}:${port}`,
          );
          const from = new RegExp(`^unsolicited ${STUN_IPS[1]}:${OTHER_PORT}$`, "m");
          await watch.waitForOutput(from, 5_000);
          await watch.stop();
        } finally {
          await knobs.resetNat("sym");
        }
      });

      await step(
        "knobs: 100 % loss silences a site; WAN ↔ WAN block drops at the edge",
        async () => {
          await knobs.setLoss("sym", 100);
          assertEquals((await probes.query("sym", 1, PORT + 5, [STUN_SERVERS[0]])).mapped, [null]);
          await knobs.setLoss("sym", 0);
          assertTrue(
            (await probes.query("sym", 1, PORT + 5, [STUN_SERVERS[0]])).mapped[0] !== null,
          );

          const to = `${lab.site("sym").publicIp}:${PORT}`;
          await knobs.blockWanToWan("cone", "sym");
          await probes.sendFromHost("cone", 1, to);
          await countAbove(() => knobs.tableDrops("cone", BLOCK_TABLE), 0, "the block to drop it");
          await knobs.unblockWanToWan("cone", "sym");
          const arrived = await knobs.unsolicitedDrops("sym");
          await probes.sendFromHost("cone", 1, to);
          await countAbove(
            () => knobs.unsolicitedDrops("sym"),
            arrived,
            "it to reach sym's router",
          );
        },
      );

      await step(
        "mesh across a NAT: a public seed and a node behind cone ping over mesh IPv4/IPv6",
        async () => {
          await meshAcrossCone(lab);
        },
      );
    } finally {
      await lab.dispose();
      console.log(`  [nat lab total: ${((performance.now() - started) / 1000).toFixed(1)} s]`);
      // Namespaces (with every veth and bridge in them), coturn, probes, the temp dir.
      assertEquals(await lab.leftovers(), []);
    }
  },
});
