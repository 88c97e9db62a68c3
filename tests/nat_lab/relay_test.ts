/**
 * Relay through the real daemons (issue 13): two nodes behind symmetric NATs (a mapping per
 * destination: no direct path, no punching) reach each other through a public member started with
 * `--relay`; `status` says so, pings and a TCP transfer go through, and the data workers relay.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { withDeadline } from "../mesh/helpers/deadline.ts";
import { MeshLab } from "../mesh/helpers/mesh_lab.ts";
import { NatLab, natLabSkipReason, STUN_SERVERS } from "./helpers/nat_lab.ts";

const skip = await natLabSkipReason();
if (skip) console.log(skip);

Deno.test({
  name: "nat lab relay: symmetric ↔ symmetric through a public --relay member",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const lab = new NatLab([
      { name: "public", nat: "public" },
      { name: "syma", nat: "symmetric" },
      { name: "symb", nat: "symmetric" },
    ]);
    try {
      await withDeadline(lab.build(), 60_000, "build the lab");
      const hosts = ["public", "syma", "symb"].map((name) => lab.site(name).hosts[0]);
      const mesh = new MeshLab({
        nodes: 3,
        trusts: () => true,
        placement: (k) => ({ namespace: hosts[k - 1].namespace, underlay: hosts[k - 1].ip }),
      });
      try {
        await withDeadline(relayed(mesh), 120_000, "relayed mesh");
      } catch (error) {
        console.error(`daemon logs:\n${await mesh.logTails()}`);
        throw error;
      } finally {
        await mesh.dispose();
      }
    } finally {
      await lab.dispose();
      assertEquals(await lab.leftovers(), []);
    }
  },
});

async function relayed(mesh: MeshLab): Promise<void> {
  await mesh.build();
  const stun = STUN_SERVERS.flatMap((server) => ["--stun", server]);
  await mesh.start(1, { extraArgs: [...stun, "--workers", "2", "--relay"] });
  await mesh.waitUntilServing(1);
  const started = performance.now();
  await mesh.start(2, { seeds: [1], extraArgs: [...stun, "--workers", "2"] });
  await mesh.start(3, { seeds: [1], extraArgs: [...stun, "--workers", "2"] });
  for (const [observer, subject] of [[2, 3], [3, 2]]) {
    const peer = await mesh.waitFor(
      async () => {
        const status = await mesh.status(observer);
        const entry = status.peers.find((p) => p.public_key === mesh.node(subject).publicKey);
        return entry?.connection === "relay" && entry.last_handshake !== null ? entry : null;
      },
      45_000,
      `node ${observer} to reach node ${subject} through the relay`,
    );
    assertEquals(peer.relay, mesh.node(1).name);
    assertTrue(peer.endpoint?.startsWith("[100::") === true, `endpoint ${peer.endpoint}`);
  }
  console.log(`relayed path after ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await mesh.waitForPing(2, mesh.node(3).meshIpv4, 15_000);
  await mesh.waitForPing(3, mesh.node(2).meshIpv6, 15_000);
  const transfer = await mesh.tcpTransfer(2, 3, mesh.node(3).meshIpv4, 8 * 1024 * 1024);
  console.log(`8 MB through the relay in ${transfer.seconds.toFixed(2)} s`);
  // The relay itself sees both as direct peers.
  const status = await mesh.status(1);
  for (const k of [2, 3]) {
    const entry = status.peers.find((p) => p.public_key === mesh.node(k).publicKey);
    assertEquals(entry?.connection, "direct");
  }
}
