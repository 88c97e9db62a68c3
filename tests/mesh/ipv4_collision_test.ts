/**
 * Finding 3 on real plumbing: three `meshguard up --open` daemons in namespaces. Node 3's key
 * derives node 2's mesh IPv4 and sorts lower (the old rule gave it the address). On node 1 the
 * address stays routed to node 2 — in WireGuard's allowed IPs, for pings, after a restart —
 * while node 3 still reaches node 1 over IPv6, and its IPv4 packets (source: the contested
 * address) are dropped by node 1's cryptokey routing.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { collidingIdentities } from "../colliding_identities.ts";
import type { DaemonStatus } from "./helpers/daemon_status.ts";
import { MeshLab, meshSkipReason } from "./helpers/mesh_lab.ts";

const skip = await meshSkipReason();
if (skip) console.log(skip);

const TIMEOUT_MS = 60_000;

Deno.test({
  name: "mesh: a colliding --open newcomer with a smaller key does not take a member's IPv4",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const [established, attacker] = collidingIdentities();
    const lab = await MeshLab.create({
      nodes: 3,
      trusts: () => false,
      identity: (k) => k === 2 ? established.seed : k === 3 ? attacker.seed : undefined,
    });
    const [observer, member, newcomer] = [lab.node(1), lab.node(2), lab.node(3)];
    const address = member.meshIpv4;
    const open = { extraArgs: ["--open"] };
    const allAlive = async (k: number, others: number[]): Promise<DaemonStatus | null> => {
      const status = await lab.status(k);
      const alive = others.every((other) =>
        status.peers.some((peer) =>
          peer.public_key === lab.node(other).publicKey && peer.state === "alive"
        )
      );
      return alive ? status : null;
    };
    /** Node 1 routes the address to node 2 only; node 3 keeps its /128. */
    const assertRouting = async () => {
      const peers = await lab.wireGuardPeers(1);
      const allowed = (key: string) => peers.find((peer) => peer.publicKey === key)?.allowedIps;
      assertEquals(
        allowed(member.wireguardPublicKey)?.sort(),
        [
          `${address}/32`,
          `${member.meshIpv6}/128`,
        ].sort(),
      );
      assertEquals(allowed(newcomer.wireguardPublicKey), [`${newcomer.meshIpv6}/128`]);
      const status = await lab.status(1);
      assertEquals(status.ipv4_conflicts.length, 1);
      assertEquals(status.ipv4_conflicts[0].holder?.public_key, member.publicKey);
    };
    try {
      assertEquals(newcomer.meshIpv4, address);
      assertTrue(newcomer.publicKey !== member.publicKey);
      await lab.start(1, open);
      await lab.waitUntilServing(1);
      await lab.start(2, { ...open, seeds: [1] });
      await lab.waitFor(() => allAlive(1, [2]), TIMEOUT_MS, "node1 to see node2");
      await lab.waitForPing(1, address);
      await lab.start(3, { ...open, seeds: [1] });
      await lab.waitFor(() => allAlive(1, [2, 3]), TIMEOUT_MS, "node1 to see node3");
      await assertRouting();
      // IPv6 keeps working for both; IPv4 to the address still reaches node 2.
      await lab.waitForPing(1, newcomer.meshIpv6);
      await lab.waitForPing(3, observer.meshIpv6);
      await lab.waitForPing(1, member.meshIpv6);
      await lab.waitForPing(1, address);
      // Node 3's IPv4 packets carry the contested source: node 1 drops them.
      for (let i = 0; i < 3; i++) assertTrue(!(await lab.ping(3, observer.meshIpv4)));

      // A restart of node 1 keeps node 2 as the holder, whoever it hears from first.
      await lab.stop(1);
      await lab.start(1, { ...open, seeds: [3, 2] });
      await lab.waitFor(() => allAlive(1, [2, 3]), TIMEOUT_MS, "node1 to see both again");
      await assertRouting();
      await lab.waitForPing(1, address);
      await lab.waitForPing(1, newcomer.meshIpv6);
    } catch (error) {
      console.error(`daemon logs:\n${await lab.logTails()}`);
      throw error;
    } finally {
      await lab.dispose();
    }
    assertEquals(await lab.remainingNamespaces(), [], "namespaces left behind");
  },
});
