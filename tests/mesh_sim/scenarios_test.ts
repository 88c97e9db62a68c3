/**
 * In-process mesh: the netns mesh suite's scenarios (untrusted flooder, crash and restart,
 * revoke and re-trust, late seed) on whole nodes in fake time.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { mulberry32, randomBytes } from "../swim/sim/prng.ts";
import { formedMesh, FOUR_NODES, MeshSim } from "./mesh_sim.ts";

const NAMES = FOUR_NODES;

Deno.test("mesh sim: an untrusted node and a flood of junk change nothing", async () => {
  const sim = await formedMesh(2);
  // The intruder trusts everyone and joins through the seed; nobody trusts it.
  const intruder = await sim.add("intruder", "198.51.100.66:51821");
  sim.trust("intruder", NAMES);
  await sim.start("intruder", ["seed"]);
  // A raw flooder next to it: random bytes, WireGuard-looking initiations, SWIM-looking headers.
  const random = mulberry32(99);
  const delivered = sim.router.delivered;
  const flooder = "198.51.100.67:51821";
  sim.router.attach(flooder, () => {});
  for (let i = 0; i < 3_000; i++) {
    const data = randomBytes(random, 40 + Math.floor(random() * 200));
    if (i % 3 === 1) data.set([1, 0, 0, 0]);
    if (i % 3 === 2) data.set([1, 1, 0x6d, 0x67, 0x73, 0x77, 0, 0]);
    sim.router.send(flooder, sim.host(NAMES[i % 4]).address, data);
    if (i % 100 === 0) sim.run(10);
  }
  sim.run(10_000);
  assertTrue(sim.router.delivered - delivered >= 3_000, "the flood did not reach the nodes");
  for (const name of NAMES) {
    const status = sim.status(name);
    assertEquals(status.members, { alive: 3, suspect: 0, dead: 0 }, `${name}'s members`);
    assertTrue(
      status.peers.every((peer) => peer.public_key !== intruder.publicKey),
      `${name} lists the intruder`,
    );
    assertEquals(sim.devicePeer(name, "intruder"), undefined, `${name} configured the intruder`);
  }
  assertTrue(sim.fullMesh(NAMES), "the mesh lost a member");
  assertEquals(sim.status("intruder").members.alive, 0, "a trusted node let the intruder in");
  const packet = sim.sendPacket("n1", "n3");
  sim.run(100);
  assertTrue(sim.arrived("n3", packet), "the tunnel n1 → n3 stopped carrying packets");
});

Deno.test("mesh sim: a crashed node is declared dead and its tunnel removed; it restarts with a new epoch and rejoins", async () => {
  const sim = await formedMesh(3);
  const oldEpoch = sim.host("n3").node!.swim!.epoch;
  await sim.crash("n3");
  const survivors = ["seed", "n1", "n2"];
  const detected = sim.runUntil(
    () =>
      survivors.every((name) =>
        sim.devicePeer(name, "n3") === undefined &&
        (sim.peerStatus(name, "n3")?.state ?? "dead") === "dead"
      ),
    60_000,
    "the survivors removing n3's tunnel",
  );
  assertTrue(sim.fullMesh(survivors), "the survivors lost each other");
  assertTrue(
    sim.logs().includes("n1: ") && sim.logs().includes("tunnel to n3 removed"),
    "no 'tunnel to n3 removed' log line",
  );
  await sim.restart("n3", ["seed"]);
  assertTrue(sim.host("n3").node!.swim!.epoch > oldEpoch, "the restart kept its epoch");
  const rejoined = sim.runUntil(() => sim.fullMesh(NAMES), 30_000, "n3 rejoining");
  const packet = sim.sendPacket("n1", "n3");
  const reply = sim.sendPacket("n3", "n2");
  sim.run(100);
  assertTrue(sim.arrived("n3", packet) && sim.arrived("n2", reply), "no packets after the rejoin");
  console.log(
    `  dead and removed after ${(detected / 1000).toFixed(1)} s; rejoined in ${
      (rejoined / 1000).toFixed(1)
    } s (simulated)`,
  );
});

Deno.test("mesh sim: revoking trust tears the tunnel down at once; trusting again brings it back", async () => {
  const sim = await formedMesh(4);
  sim.trust("n1", ["seed", "n3"]);
  // Applied in the same call: no run needed.
  assertEquals(sim.devicePeer("n1", "n2"), undefined, "n1 still has a WireGuard peer for n2");
  assertEquals(sim.peerStatus("n1", "n2"), undefined, "n1's status still lists n2");
  const dropped = sim.sendPacket("n2", "n1");
  sim.run(5_000);
  assertTrue(!sim.arrived("n1", dropped), "a packet from the revoked node came out of n1's TUN");
  assertEquals(sim.devicePeer("n1", "n2"), undefined, "n2 came back without trust");
  assertTrue(sim.fullMesh(["seed", "n1", "n3"]), "the others were disturbed");
  sim.trust("n1", ["seed", "n2", "n3"]);
  sim.runUntil(() => sim.fullMesh(NAMES), 60_000, "the re-trusted tunnel n1 ↔ n2");
  const packet = sim.sendPacket("n2", "n1");
  sim.run(100);
  assertTrue(sim.arrived("n1", packet), "no packet n2 → n1 after re-trust");
});

Deno.test("mesh sim: a node started before its seed joins once the seed comes up", async () => {
  const sim = new MeshSim({ seed: 5 });
  await sim.add("seed", "192.0.2.1:51821");
  await sim.add("n1", "192.0.2.2:51821");
  sim.trustEachOther(["seed", "n1"]);
  await sim.start("n1", ["seed"]);
  sim.run(20_000);
  assertEquals(sim.status("n1").members.alive, 0);
  assertTrue(sim.router.drops["no-host"] > 0, "n1 never tried the seed");
  await sim.start("seed");
  const joined = sim.runUntil(() => sim.fullMesh(["seed", "n1"]), 120_000, "joining the late seed");
  const packet = sim.sendPacket("seed", "n1");
  sim.run(100);
  assertTrue(sim.arrived("n1", packet), "no packet seed → n1");
  console.log(`  joined ${(joined / 1000).toFixed(1)} s (simulated) after the seed came up`);
});

Deno.test("mesh sim: a partition removes the tunnels across it; after the heal the mesh is whole again", async () => {
  const sim = await formedMesh(7);
  const ip = (name: string) => sim.host(name).address.split(":")[0];
  sim.router.partition([[ip("seed"), ip("n1")], [ip("n2"), ip("n3")]]);
  const across = [["seed", "n2"], ["seed", "n3"], ["n1", "n2"], ["n1", "n3"]];
  sim.runUntil(
    () =>
      across.every(([a, b]) =>
        sim.devicePeer(a, b) === undefined && sim.devicePeer(b, a) === undefined
      ),
    60_000,
    "tunnels across the partition removed",
  );
  assertTrue(sim.fullMesh(["seed", "n1"]) && sim.fullMesh(["n2", "n3"]), "a side fell apart");
  assertTrue(sim.router.drops.partition > 0);
  sim.router.partition(null);
  const healed = sim.runUntil(() => sim.fullMesh(NAMES), 120_000, "the mesh after the heal");
  const packet = sim.sendPacket("n1", "n3");
  sim.run(100);
  assertTrue(sim.arrived("n3", packet), "no packet across the healed partition");
  console.log(`  whole again ${(healed / 1000).toFixed(1)} s (simulated) after the heal`);
});

Deno.test("mesh sim: a mesh forms and carries packets through 10 % loss and jittered latency", async () => {
  const sim = new MeshSim({ seed: 8, latencyMs: 20, jitterMs: 30 });
  sim.router.loss = 0.1;
  for (const [i, name] of NAMES.entries()) await sim.add(name, `192.0.2.${i + 1}:51821`);
  sim.trustEachOther(NAMES);
  await sim.start("seed");
  for (const name of NAMES.slice(1)) await sim.start(name, ["seed"]);
  const formed = sim.runUntil(() => sim.fullMesh(NAMES), 60_000, "a full mesh through loss");
  assertTrue(sim.router.drops.loss > 0, "nothing was lost");
  // Some packets are lost too; of 20, most arrive.
  const packets = Array.from({ length: 20 }, () => sim.sendPacket("n1", "n2"));
  sim.run(200);
  const arrived = packets.filter((packet) => sim.arrived("n2", packet)).length;
  assertTrue(arrived >= 12, `only ${arrived} of 20 packets arrived`);
  sim.run(30_000);
  assertTrue(sim.fullMesh(NAMES), "a member was lost to the loss");
  console.log(`  formed in ${(formed / 1000).toFixed(1)} s (simulated); ${arrived}/20 packets`);
});
