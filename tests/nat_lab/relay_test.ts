/**
 * Relay through the real daemons (issue 13): two nodes behind symmetric NATs (a mapping per
 * destination: no direct path, no punching) reach each other through a public member started with
 * `--relay` (two relay-capable members run); `status` says so, pings and a TCP transfer go through
 * (the data workers relay).
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { withDeadline } from "../mesh/helpers/deadline.ts";
import { MeshLab } from "../mesh/helpers/mesh_lab.ts";
import { NatLab, natLabSkipReason, STUN_SERVERS } from "./helpers/nat_lab.ts";

/** Seconds from killing the relay in use to both sides on the other one (suspicion takes ~2-4 s). */
const FAILOVER_BUDGET_S = 10;
/**
 * Seconds from a relayed route in status to its first handshake: under WireGuard's 5 s retry. A
 * lost first initiation is started again 1 s (then 2.5 s) after the route (fresh_paths.ts).
 */
const ROUTE_TO_HANDSHAKE_S = 4;

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
      { name: "public2", nat: "public" },
    ]);
    try {
      await withDeadline(lab.build(), 60_000, "build the lab");

      const hosts = ["public", "syma", "symb", "public2"].map((name) => lab.site(name).hosts[0]);
      const mesh = new MeshLab({
        nodes: 4,
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

/** Waits until `observer` reaches `subject` through a relay (not `except`); the relay's name. */
async function waitRelayed(
  mesh: MeshLab,
  observer: number,
  subject: number,
  except: string | null = null,
  timing?: { routed?: number; handshake?: number },
): Promise<string> {
  const peer = await mesh.waitFor(
    async () => {
      const status = await mesh.status(observer);
      const entry = status.peers.find((p) => p.public_key === mesh.node(subject).publicKey);
      const routed = entry?.connection === "relay" && entry.relay !== except;
      if (routed && timing !== undefined) timing.routed ??= performance.now();
      if (!routed || entry.last_handshake === null) return null;
      if (timing !== undefined) timing.handshake = performance.now();
      return entry;
    },
    45_000,
    `node ${observer} to reach node ${subject} through a relay other than ${except}`,
  ).catch(async (error) => {
    const peers = (await mesh.status(observer)).peers;
    console.error(
      JSON.stringify(
        peers.map((p) => [p.name, p.state, p.endpoint, p.connection, p.relay, p.last_handshake]),
      ),
    );
    throw error;
  });
  assertTrue(peer.endpoint?.startsWith("[100::") === true, `endpoint ${peer.endpoint}`);
  return peer.relay!;
}

async function relayed(mesh: MeshLab): Promise<void> {
  await mesh.build();
  const stun = STUN_SERVERS.flatMap((server) => ["--stun", server]);
  const args = [...stun, "--workers", "2"];
  await mesh.start(1, { extraArgs: [...args, "--relay"] });
  await mesh.waitUntilServing(1);
  await mesh.start(4, { seeds: [1], extraArgs: [...args, "--relay"] });
  const started = performance.now();
  await mesh.start(2, { seeds: [1], extraArgs: args });
  await mesh.start(3, { seeds: [1], extraArgs: args });
  const timing: { routed?: number; handshake?: number } = {};
  const relay = await waitRelayed(mesh, 2, 3, null, timing);
  const back = await waitRelayed(mesh, 3, 2);
  // From node 2's status first naming the relay to its first handshake with node 3 through it.
  // The relay holds an initiation it cannot forward yet (relay_hold.ts); one lost at the far end
  // (its route for the sender, or its workers' copy of the bindings, not there yet) is started
  // again by the node within 1 s (fresh_paths.ts), not after WireGuard's 5 s retry (CI on
  // 2026-12-01 saw 5.0 s before that).
  const routeToHandshake = (timing.handshake! - timing.routed!) / 1000;
  console.log(`first relayed handshake ${routeToHandshake.toFixed(1)} s after the route`);
  assertTrue(
    routeToHandshake <= ROUTE_TO_HANDSHAKE_S,
    `first relayed handshake ${routeToHandshake.toFixed(1)} s after the route`,
  );
  // Each side picks by its own RTTs; either relay serves both directions.
  for (const name of [relay, back]) {
    assertTrue([mesh.node(1).name, mesh.node(4).name].includes(name), `relay ${name}`);
  }
  console.log(
    `relayed via ${relay} after ${((performance.now() - started) / 1000).toFixed(1)} s ` +
      `(route → handshake ${routeToHandshake.toFixed(1)} s)`,
  );
  await mesh.waitForPing(2, mesh.node(3).meshIpv4, 15_000);
  await mesh.waitForPing(3, mesh.node(2).meshIpv6, 15_000);
  const viaRelay = await mesh.tcpTransfer(2, 3, mesh.node(3).meshIpv4, 8 * 1024 * 1024);
  const direct = await mesh.tcpTransfer(2, 1, mesh.node(1).meshIpv4, 8 * 1024 * 1024);
  console.log(
    `8 MB: relayed ${viaRelay.seconds.toFixed(2)} s, direct ${direct.seconds.toFixed(2)} s ` +
      `(relay throughput ${(direct.seconds / viaRelay.seconds * 100).toFixed(0)} % of direct)`,
  );
  // The relays' status counts what they carried: node 2 → node 3, ≥ 8 MB over both relays
  // (WireGuard may roam onto the relay node 3 picked), posted by their data threads once a
  // second; in --json and as text.
  const [from, to] = [mesh.node(2).name, mesh.node(3).name];
  const carried = async (k: number) =>
    (await mesh.status(k)).relay_serving?.pairs.find((p) => p.from === from && p.to === to)
      ?.bytes ?? 0;
  const busiest = await mesh.waitFor(
    async () => {
      const [one, four] = [await carried(1), await carried(4)];
      return one + four >= 8 * 1024 * 1024 ? (one >= four ? 1 : 4) : null;
    },
    10_000,
    `the relays' status to count ${from} → ${to}`,
  ).catch(async (error) => {
    for (const k of [1, 4]) console.error(JSON.stringify((await mesh.status(k)).relay_serving));
    throw error;
  });
  const serving = (await mesh.status(busiest)).relay_serving!;
  assertTrue(serving.forwarded_packets > 0 && serving.forwarded_bytes > 0);
  assertEquals((await mesh.status(2)).relay_serving, undefined, "node 2 relays nothing");
  const text = await mesh.statusTable(busiest);
  assertTrue(text.includes("relaying for others:"), text);
  assertTrue(new RegExp(`\\n  ${from} +${to} +\\d+`).test(text), text);
  // Killing the relay node 2 sends through: both sides move to the other relay while it is only
  // suspected (a side whose WireGuard roamed onto it is set back onto its route at once).
  // Failover needs the other relay to be a member at both sides first (under load its gossip
  // reached a NATed node only after the kill once).
  for (const k of [2, 3]) {
    await mesh.waitFor(
      async () => {
        const alive = (await mesh.status(k)).peers.filter((p) => p.state === "alive");
        return [1, 4].every((r) => alive.some((p) => p.public_key === mesh.node(r).publicKey));
      },
      30_000,
      `node ${k} to list both relays alive`,
    );
  }
  const killedName = (await mesh.status(2)).peers.find((p) =>
    p.public_key === mesh.node(3).publicKey
  )?.relay;
  const killed = [1, 4].find((k) => mesh.node(k).name === killedName);
  assertTrue(killed !== undefined, `node 2 is not relayed (relay ${killedName})`);
  const killedAt = performance.now();
  await mesh.crash(killed!);
  const after = [
    await waitRelayed(mesh, 2, 3, killedName!),
    await waitRelayed(mesh, 3, 2, killedName!),
  ];
  const failover = (performance.now() - killedAt) / 1000;
  console.log(
    `relay ${killedName} killed: via ${after.join(" / ")} after ${failover.toFixed(1)} s`,
  );
  assertTrue(failover <= FAILOVER_BUDGET_S, `failover took ${failover.toFixed(1)} s`);
  await mesh.waitForPing(2, mesh.node(3).meshIpv4, 10_000);
  await mesh.waitForPing(3, mesh.node(2).meshIpv4, 10_000);
}
