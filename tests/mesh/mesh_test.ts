/**
 * End to end: real `meshguard up` daemons in network namespaces on one bridge (192.0.2.0/24).
 * Nodes 1–3 trust each other; node 4 trusts them but nobody trusts node 4. Steps share a lab to
 * save daemon start-ups, but each asserts what would break without its feature, within a bounded
 * time, and prints how long it took. On any failure every daemon's log tail is printed.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import type { DaemonStatus, PeerStatus, WireGuardPeer } from "./helpers/daemon_status.ts";
import { withDeadline } from "./helpers/deadline.ts";
import { MESH_PORT, MeshLab, type MeshNode, meshSkipReason, run } from "./helpers/mesh_lab.ts";

const skip = await meshSkipReason();
if (skip) console.log(skip);

/** A handshake older than this is not "recent" (WireGuard rekeys every 120 s). */
const RECENT_HANDSHAKE_MS = 180_000;
/** Formation and joins: SWIM's lan profile joins in a few seconds; this is the hard ceiling. */
const JOIN_TIMEOUT_MS = 60_000;
/** Dead detection: probe 1 s plus a suspicion of several seconds; this is the hard ceiling. */
const DEAD_TIMEOUT_MS = 60_000;
/** Revocation and `down` take effect "at once": a few seconds, bounded here. */
const PROMPT_TIMEOUT_MS = 10_000;
const TRANSFER_BYTES = 8 * 1024 * 1024;

/** Step durations, printed as a summary at the end of each test. */
const timings: string[] = [];

/** One `t.step` with a time budget; on failure prints every daemon's log tail. */
function step(
  t: Deno.TestContext,
  lab: MeshLab,
  name: string,
  budgetMs: number,
  fn: () => Promise<void>,
): Promise<boolean> {
  return t.step(name, async () => {
    const started = performance.now();
    let outcome = "FAILED";
    try {
      await withDeadline(fn(), budgetMs, name);
      outcome = "ok";
    } catch (error) {
      console.error(`\n${name} failed; daemon logs:\n${await lab.logTails()}\n`);
      throw error;
    } finally {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      timings.push(`${outcome.padEnd(6)} ${seconds.padStart(6)} s  ${name}`);
      console.log(`  [${name}: ${outcome} in ${seconds} s]`);
    }
  });
}

function printTimings(title: string): void {
  console.log(`\n${title}\n${timings.splice(0).map((line) => `  ${line}`).join("\n")}`);
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}

/** The entry for `peer` in a status, matched by Ed25519 key. */
function peerIn(status: DaemonStatus, peer: MeshNode): PeerStatus | undefined {
  return status.peers.find((entry) => entry.public_key === peer.publicKey);
}

/**
 * Resolves with every member's status once each of `members` lists each other one as alive;
 * throws (a "not yet" for waitFor) naming the first pair that is not there yet.
 */
async function fullMesh(lab: MeshLab, members: number[]): Promise<Map<number, DaemonStatus>> {
  const statuses = new Map<number, DaemonStatus>();
  for (const k of members) {
    const status = await lab.status(k);
    for (const other of members) {
      if (other === k) continue;
      const entry = peerIn(status, lab.node(other));
      if (entry?.state !== "alive") {
        throw new Error(`node${k} sees node${other} as ${entry?.state ?? "absent"}`);
      }
    }
    statuses.set(k, status);
  }
  return statuses;
}

/**
 * Throws unless `status` (the daemon's typed view of its device) and `wg show` (the device's
 * UAPI `get`) list the same peers with the same endpoints and allowed IPs.
 */
function assertStatusMatchesWireGuard(k: number, status: DaemonStatus, peers: WireGuardPeer[]) {
  const fromStatus = status.peers.map((entry) => ({
    publicKey: entry.wireguard_public_key,
    endpoint: entry.endpoint,
    allowedIps: [
      ...(entry.mesh_ipv4 === null ? [] : [`${entry.mesh_ipv4}/32`]),
      `${entry.mesh_ipv6}/128`,
    ].sort(),
  })).sort((a, b) => a.publicKey.localeCompare(b.publicKey));
  const fromWg = peers.map((peer) => ({
    publicKey: peer.publicKey,
    endpoint: peer.endpoint,
    allowedIps: [...peer.allowedIps].sort(),
  })).sort((a, b) => a.publicKey.localeCompare(b.publicKey));
  assertEquals(fromStatus, fromWg, `node${k}: status and wg show disagree`);
}

/** Throws unless `observer`'s WireGuard device has no peer with `peer`'s key. */
async function assertNoWireGuardPeer(lab: MeshLab, observer: number, peer: MeshNode) {
  const peers = await lab.wireGuardPeers(observer);
  const found = peers.find((entry) => entry.publicKey === peer.wireguardPublicKey);
  assertTrue(
    found === undefined,
    `node${observer}'s wg show lists ${peer.name} (${JSON.stringify(found)})`,
  );
}

Deno.test({
  name: "mesh: full mesh from one seed; an untrusted flooding node stays out; " +
    "kill -9 and restart; revoke and re-trust on a running node",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const lab = await MeshLab.create({
      nodes: 4,
      // 1–3 trust each other; node 4 trusts 1–3 (so it tries hard) but nobody trusts node 4.
      trusts: (_from, to) => to !== 4,
    });
    const intruder = lab.node(4);
    const sightings: string[] = [];
    lab.statusObservers.push((node, status) => {
      if (node.index === 4) return;
      for (const entry of status.peers) {
        if (
          entry.public_key === intruder.publicKey ||
          entry.wireguard_public_key === intruder.wireguardPublicKey
        ) {
          sightings.push(`${new Date().toISOString()} ${node.name} listed node4 as ${entry.state}`);
        }
      }
    });
    /** Node 4 in no member list so far, and in no WireGuard device of nodes 1–3 now. */
    const assertIntruderOut = async () => {
      assertEquals(sightings.splice(0), [], "node 4 appeared in a trusted node's status");
      for (const k of [1, 2, 3]) await assertNoWireGuardPeer(lab, k, intruder);
    };
    let intruderSentAtStart = 0;

    try {
      await step(
        t,
        lab,
        "1. three trusted nodes form a full mesh from a single seed",
        150_000,
        async () => {
          await lab.start(1); // the seed itself has no seed
          await lab.waitUntilServing(1);
          const started = performance.now();
          intruderSentAtStart = await lab.udpCounter(4, "OutDatagrams");
          for (const k of [2, 3, 4]) await lab.start(k, { seeds: [1] });
          await lab.waitFor(
            () => fullMesh(lab, [1, 2, 3]),
            JOIN_TIMEOUT_MS,
            "nodes 1–3 to list each other as alive",
          );
          const formed = seconds(started);

          for (const k of [1, 2, 3]) {
            const self = await lab.status(k);
            const node = lab.node(k);
            // The daemon's addresses and keys are the deterministic ones `config show` derives.
            assertEquals(self.mesh_ipv4, node.meshIpv4, `${node.name} mesh IPv4`);
            assertEquals(self.mesh_ipv6, node.meshIpv6, `${node.name} mesh IPv6`);
            assertEquals(self.wireguard_public_key, node.wireguardPublicKey);
            assertEquals(self.port, MESH_PORT);
          }
          for (const from of [1, 2, 3]) {
            for (const to of [1, 2, 3]) {
              if (from === to) continue;
              const target = await lab.status(to);
              await lab.waitForPing(from, target.mesh_ipv4!);
              await lab.waitForPing(from, target.mesh_ipv6);
            }
          }
          const pinged = seconds(started);

          // Between two nodes that are not the seed: proves a direct tunnel, not a hub.
          const transfer = await lab.tcpTransfer(2, 3, lab.node(3).meshIpv4, TRANSFER_BYTES);

          const statuses = await fullMesh(lab, [1, 2, 3]);
          for (const [k, status] of statuses) {
            for (const other of [1, 2, 3]) {
              if (other === k) continue;
              const entry = peerIn(status, lab.node(other))!;
              assertEquals(entry.name, `node${other}`, `node${k}'s name for node${other}`);
              assertEquals(entry.wireguard_public_key, lab.node(other).wireguardPublicKey);
              assertEquals(entry.mesh_ipv4, lab.node(other).meshIpv4);
              assertTrue(entry.last_handshake !== null, `node${k}: no handshake with node${other}`);
              const age = Date.now() - Date.parse(entry.last_handshake!);
              assertTrue(
                age >= -5_000 && age < RECENT_HANDSHAKE_MS,
                `node${k}: handshake with node${other} at ${entry.last_handshake} is not recent`,
              );
              assertTrue(
                entry.endpoint?.includes(lab.node(other).underlay) ?? false,
                `node${k}'s endpoint for node${other} is ${entry.endpoint}`,
              );
            }
            // The WireGuard device agrees: the two others, each routed to its own mesh addresses.
            const peers = await lab.wireGuardPeers(k);
            assertStatusMatchesWireGuard(k, status, peers);
            for (const other of [1, 2, 3]) {
              if (other === k) continue;
              const node = lab.node(other);
              const peer = peers.find((entry) => entry.publicKey === node.wireguardPublicKey);
              assertTrue(peer !== undefined, `node${k}'s wg show has no peer for node${other}`);
              assertTrue(
                peer!.allowedIps.includes(`${node.meshIpv4}/32`) &&
                  peer!.allowedIps.includes(`${node.meshIpv6}/128`),
                `node${k}'s allowed-ips for node${other}: ${peer!.allowedIps}`,
              );
              assertTrue(
                peer!.latestHandshake > 0,
                `node${k}: wg shows no handshake with node${other}`,
              );
            }
          }
          // Member STUN through the real data workers: each asks the two others, is public.
          for (const k of [1, 2, 3]) {
            const mapped = `${lab.node(k).underlay}:${MESH_PORT}`;
            await lab.waitFor(
              async () => {
                const nat = (await lab.status(k)).nat;
                return nat.mapping === "public" && nat.mapped_v4 === mapped;
              },
              10_000,
              `node${k} found public by member STUN`,
            );
          }
          console.log(
            `  mesh formed (all alive) in ${formed} s; every pair pinged v4+v6 by ${pinged} s; ` +
              `${TRANSFER_BYTES} bytes node2 → node3 in ${
                transfer.seconds.toFixed(1)
              } s, sha256 ok`,
          );
        },
      );

      await step(
        t,
        lab,
        "2. the untrusted node 4 gets no tunnel and no membership, even flooding",
        90_000,
        async () => {
          // It really is trying: its daemon is up and it keeps sending to its seed.
          await lab.waitUntilServing(4);
          await lab.waitFor(
            async () => (await lab.udpCounter(4, "OutDatagrams")) >= intruderSentAtStart + 3,
            20_000,
            "node 4 to send to its seed",
          );
          const intruderSent = await lab.udpCounter(4, "OutDatagrams") - intruderSentAtStart;
          await assertIntruderOut();

          // A genuine WireGuard initiation made with node 4's real key: tamper with its own
          // device so it routes node 1's mesh address to node 1, then ping. Node 1 must not answer.
          const target = lab.node(1);
          await run(
            "ip",
            "netns",
            "exec",
            intruder.namespace,
            "wg",
            "set",
            intruder.interfaceName,
            "peer",
            target.wireguardPublicKey,
            "endpoint",
            `${target.underlay}:${MESH_PORT}`,
            "allowed-ips",
            `${target.meshIpv4}/32`,
          );
          for (let i = 0; i < 2; i++) {
            assertTrue(!(await lab.ping(4, target.meshIpv4)), "node4 → node1 ping was answered");
          }
          const injected = (await lab.wireGuardPeers(4)).find((peer) =>
            peer.publicKey === target.wireguardPublicKey
          );
          if (injected) {
            assertTrue(injected.txBytes >= 148, "node 4 sent no handshake initiation to node 1");
            assertEquals(injected.latestHandshake, 0, "node 1 answered node 4's initiation");
            assertEquals(injected.rxBytes, 0, "node 1 sent node 4 something back");
          } else {
            console.log("  (node 4's daemon removed the peer injected with wg set)");
          }

          await lab.flood(4, 1, 4000, [
            intruder.publicKey,
            lab.node(2).publicKey,
            lab.node(3).publicKey,
          ]);
          await lab.flood(4, 2, 1000, [intruder.publicKey, lab.node(1).publicKey]);

          // Every daemon survived the flood and the mesh still carries traffic.
          for (const k of [1, 2, 3]) {
            assertEquals(
              lab.node(k).daemon?.status,
              null,
              `node${k}'s daemon exited during the flood`,
            );
          }
          await lab.waitForPing(2, lab.node(1).meshIpv4, 10_000);
          await lab.waitForPing(1, lab.node(3).meshIpv6, 10_000);
          await lab.waitFor(() => fullMesh(lab, [1, 2, 3]), 20_000, "nodes 1–3 still all alive");
          await assertIntruderOut();

          // And node 4 itself got nothing: no handshake with anyone, nobody alive in its view.
          const intruderPeers = await lab.wireGuardPeers(4);
          for (const peer of intruderPeers) {
            assertEquals(
              peer.latestHandshake,
              0,
              `node4 completed a handshake with ${peer.publicKey}`,
            );
          }
          const intruderView = await lab.status(4);
          for (const entry of intruderView.peers) {
            assertTrue(entry.state !== "alive", `node4 sees ${entry.name} as alive`);
            assertEquals(entry.last_handshake, null, `node4 has a handshake with ${entry.name}`);
          }
          console.log(
            `  node 4 sent ${intruderSent} datagrams of its own, a real WireGuard initiation, ` +
              "then 5,000 hostile datagrams; " +
              "it is in no member list or WireGuard device of nodes 1–3",
          );
        },
      );

      await step(
        t,
        lab,
        "3. kill -9 node 3: it is dropped; a restart rejoins",
        150_000,
        async () => {
          const victim = lab.node(3);
          await lab.waitFor(
            () => fullMesh(lab, [1, 2, 3]),
            JOIN_TIMEOUT_MS,
            "a full mesh to start from",
          );
          await lab.crash(3);
          const crashed = performance.now();
          await lab.waitFor(
            async () => {
              for (const k of [1, 2]) {
                const entry = peerIn(await lab.status(k), victim);
                if (entry && entry.state !== "dead") {
                  throw new Error(`node${k} sees node3 as ${entry.state}`);
                }
              }
              return true;
            },
            DEAD_TIMEOUT_MS,
            "nodes 1 and 2 to mark node 3 dead or drop it",
          );
          const markedDead = seconds(crashed);
          await lab.waitFor(
            async () => {
              for (const k of [1, 2]) await assertNoWireGuardPeer(lab, k, victim);
              return true;
            },
            15_000,
            "node 3's WireGuard peer to leave nodes 1 and 2",
          );
          const droppedPeer = seconds(crashed);
          const staleUapi = await Deno.stat(lab.uapiSocket(3)).then(() => true, () => false);
          const staleInterface = await lab.interfaceExists(3);

          // Same config dir, same interface name: nothing a crash leaves may block the next up.
          await lab.start(3, { seeds: [1] });
          const restarted = performance.now();
          await lab.waitUntilServing(3);
          await lab.waitFor(() => fullMesh(lab, [1, 2, 3]), JOIN_TIMEOUT_MS, "node 3 to rejoin");
          await lab.waitForPing(1, victim.meshIpv4);
          await lab.waitForPing(3, lab.node(2).meshIpv6);
          await assertIntruderOut();
          console.log(
            `  node 3 dead on 1 and 2 after ${markedDead} s, WireGuard peer gone after ${droppedPeer} s; ` +
              `after the crash: stale UAPI socket ${staleUapi ? "left" : "none"}, interface ` +
              `${staleInterface ? "still there" : "gone"}; rejoined and pinged in ${
                seconds(restarted)
              } s`,
          );
        },
      );

      await step(
        t,
        lab,
        "4. revoke node2 on running node 1: its tunnel goes down; trust brings it back",
        120_000,
        async () => {
          const revoked = lab.node(2);
          await lab.waitForPing(1, revoked.meshIpv4);
          await lab.meshguard(lab.node(1).configDir, "revoke", "node2");
          const revokedAt = performance.now();
          await lab.waitFor(
            async () => {
              await assertNoWireGuardPeer(lab, 1, revoked);
              return true;
            },
            PROMPT_TIMEOUT_MS,
            "node 1's WireGuard peer for node 2 to go after the revoke",
          );
          const tunnelDown = seconds(revokedAt);
          assertTrue(!(await lab.ping(1, revoked.meshIpv4)), "node1 → node2 ping still works");
          assertTrue(!(await lab.ping(2, lab.node(1).meshIpv6)), "node2 → node1 ping still works");
          // Node 2 still trusts node 1 and keeps knocking; node 1 must keep it out, not re-admit it.
          const watchUntil = Date.now() + 5_000;
          while (Date.now() < watchUntil) {
            const entry = peerIn(await lab.status(1), revoked);
            assertTrue(entry?.state !== "alive", `revoked node2 is alive again on node1`);
            await assertNoWireGuardPeer(lab, 1, revoked);
          }
          // Node 3 is not affected.
          await lab.waitForPing(1, lab.node(3).meshIpv4, 5_000);

          await lab.meshguard(lab.node(1).configDir, "trust", revoked.publicKey, "--name", "node2");
          const trustedAt = performance.now();
          await lab.waitFor(() => fullMesh(lab, [1, 2]), JOIN_TIMEOUT_MS, "node 2 back on node 1");
          await lab.waitForPing(1, revoked.meshIpv4, 30_000);
          await lab.waitForPing(2, lab.node(1).meshIpv6, 30_000);
          await assertIntruderOut();
          console.log(
            `  tunnel down ${tunnelDown} s after revoke; back ${seconds(trustedAt)} s after trust`,
          );
        },
      );
    } finally {
      const leftovers = await lab.dispose();
      if (leftovers.length > 0) console.log(`  dispose removed what daemons left: ${leftovers}`);
      printTimings("mesh (4 nodes) step timings:");
    }
    assertEquals(await lab.remainingNamespaces(), [], "namespaces left behind");
  },
});

Deno.test({
  name: "mesh: a node started before its seed joins when the seed appears; down stops a daemon",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const lab = await MeshLab.create({ nodes: 2, trusts: () => true });
    try {
      await step(
        t,
        lab,
        "5. node 2 starts before its seed node 1; both end up alive",
        120_000,
        async () => {
          const refusedBefore = await lab.udpCounter(1, "NoPorts");
          await lab.start(2, { seeds: [1] });
          await lab.waitUntilServing(2);
          // The kernel of node 1's namespace counts datagrams to its closed port: node 2 has
          // knocked at least once while its seed was down (an event, not a guess about timing).
          await lab.waitFor(
            async () => (await lab.udpCounter(1, "NoPorts")) > refusedBefore,
            20_000,
            "node 2 to try its absent seed",
          );
          const lonely = await lab.status(2);
          assertTrue(
            lonely.peers.every((entry) => entry.state !== "alive"),
            `node2 sees someone alive before its seed is up: ${JSON.stringify(lonely.peers)}`,
          );

          await lab.start(1); // no seed: only node 2's retries can bring them together
          const seedUp = performance.now();
          await lab.waitUntilServing(1);
          await lab.waitFor(() => fullMesh(lab, [1, 2]), JOIN_TIMEOUT_MS, "nodes 1 and 2 alive");
          await lab.waitForPing(2, lab.node(1).meshIpv4);
          await lab.waitForPing(1, lab.node(2).meshIpv6);
          console.log(`  joined ${seconds(seedUp)} s after the seed started`);
        },
      );

      await step(
        t,
        lab,
        "6. meshguard down stops the daemon and removes its interface",
        60_000,
        async () => {
          const node = lab.node(2);
          const daemon = node.daemon!;
          assertTrue(await lab.interfaceExists(2), "node 2's interface is missing before down");
          const result = await lab.cli("down", "--control", node.controlPath);
          assertEquals(result.code, 0, `meshguard down failed: ${result.stderr}`);
          const status = await daemon.waitForExit(PROMPT_TIMEOUT_MS);
          assertTrue(
            status !== null,
            `node 2's daemon still runs ${PROMPT_TIMEOUT_MS} ms after down`,
          );
          assertEquals(status!.code, 0, `node 2's daemon exit code after down`);
          assertTrue(
            !(await lab.interfaceExists(2)),
            `${node.interfaceName} is still in ${node.namespace}`,
          );
          const uapiLeft = await Deno.stat(lab.uapiSocket(2)).then(() => true, () => false);
          assertTrue(!uapiLeft, `${lab.uapiSocket(2)} left behind after down`);
          const controlLeft = await Deno.stat(node.controlPath).then(() => true, () => false);
          assertTrue(!controlLeft, `${node.controlPath} left behind after down`);
          const view = peerIn(await lab.status(1), node);
          console.log(`  node 1 now sees node 2 as ${view?.state ?? "absent"}`);
        },
      );
    } finally {
      const leftovers = await lab.dispose();
      if (leftovers.length > 0) console.log(`  dispose removed what daemons left: ${leftovers}`);
      printTimings("mesh (2 nodes) step timings:");
    }
    assertEquals(await lab.remainingNamespaces(), [], "namespaces left behind");
  },
});
