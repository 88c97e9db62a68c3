/**
 * Hole punching in the in-process mesh (issue 13): members behind NATs get a direct path
 * through a rendezvous, proven by an ack, and it becomes their WireGuard endpoint.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { MessageType } from "../../lib/swim/constants.ts";
import { MeshSim } from "./mesh_sim.ts";
import type { Nat, NatBehaviour } from "./router.ts";

/** The common home router: one outside port per inside endpoint, answers only from where it sent. */
const CONE: NatBehaviour = {
  mapping: "endpoint-independent",
  filtering: "address-port-dependent",
  mappingTimeoutMs: 30_000,
};

const SYMMETRIC: NatBehaviour = { ...CONE, mapping: "address-port-dependent" };

/** Tells `name` what STUN would: the outside address of its mesh socket's mapping at `nat`. */
function injectReflexive(sim: MeshSim, name: string, nat: Nat): string {
  const host = sim.host(name);
  const outside = nat.mappings(sim.now).find((m) => m.inside === host.address)?.outside;
  if (outside === undefined) throw new Error(`${name} has no mapping at ${nat.name}`);
  host.node!.setReflexiveEndpoints([outside], sim.now);
  return outside;
}

/** A public seed and a, b behind their own NATs; all trust each other and are alive to each other. */
async function twoSites(seed: number, behaviourA: NatBehaviour, behaviourB: NatBehaviour) {
  const sim = new MeshSim({ seed });
  const home = sim.router.addNat("home", "203.0.113.1", behaviourA);
  const office = sim.router.addNat("office", "203.0.113.2", behaviourB);
  await sim.add("seed", "192.0.2.1:51821");
  await sim.add("a", "198.51.100.10:51821", home);
  await sim.add("b", "198.51.100.20:51821", office);
  const names = ["seed", "a", "b"];
  sim.trustEachOther(names);
  await sim.start("seed");
  await sim.start("a", ["seed"]);
  await sim.start("b", ["seed"]);
  sim.runUntil(
    () =>
      sim.peerStatus("a", "b")?.state === "alive" && sim.peerStatus("b", "a")?.state === "alive",
    30_000,
    "a and b learn of each other",
  );
  return { sim, home, office };
}

/** Counts datagrams by (source, destination) as the sender wrote them, and Punch datagrams. */
function tapRouter(sim: MeshSim) {
  const seen = { punch: 0, pairs: new Map<string, number>() };
  sim.router.tap = (from, to, data) => {
    if (data[0] === MessageType.Punch && data[1] === 1) seen.punch++;
    const key = `${from}>${to}`;
    seen.pairs.set(key, (seen.pairs.get(key) ?? 0) + 1);
  };
  return seen;
}

Deno.test("punch: cone ↔ cone get a direct path through the seed within seconds; data flows directly", async () => {
  const { sim, home, office } = await twoSites(21, CONE, CONE);
  const outsideA = injectReflexive(sim, "a", home);
  const outsideB = injectReflexive(sim, "b", office);
  const tap = tapRouter(sim);
  const took = sim.runUntil(
    () =>
      sim.devicePeer("a", "b")?.endpoint === outsideB &&
      sim.devicePeer("b", "a")?.endpoint === outsideA,
    10_000,
    "direct endpoints by punching\n" + sim.logs(),
  );
  assertTrue(took <= 5_000, `punching took ${took} ms`);
  assertTrue(tap.punch >= 2, "no punch request went through the rendezvous");
  const a = sim.host("a").node!.swim!;
  const b = sim.host("b").node!.swim!;
  assertTrue(a.punchStats.proven + b.punchStats.proven >= 1, JSON.stringify(a.punchStats));
  assertTrue(sim.host("seed").node!.swim!.punchStats.forwarded >= 1, "the seed forwarded nothing");
  // Data goes a → b's mapping and b → a's mapping, never through the seed.
  tap.pairs.clear();
  for (const [from, to] of [["a", "b"], ["b", "a"]]) {
    const packet = sim.sendPacket(from, to);
    sim.run(200);
    assertTrue(sim.arrived(to, packet), `no packet ${from} → ${to}`);
  }
  assertTrue(
    (tap.pairs.get(`${sim.host("a").address}>${outsideB}`) ?? 0) > 0,
    "a did not send to b directly",
  );
  assertTrue(
    (tap.pairs.get(`${sim.host("b").address}>${outsideA}`) ?? 0) > 0,
    "b did not send to a directly",
  );
  assertEquals(sim.peerStatus("a", "b")!.endpoint, outsideB);
  assertTrue(sim.peerStatus("a", "b")!.last_handshake !== null, "no handshake a ↔ b");
});
