/**
 * STUN between members on the simulated router: with no third party, a node behind an
 * endpoint-independent NAT and one behind an endpoint-dependent ("symmetric") NAT learn their
 * mappings from two public members at different IPs and are classified correctly; a public
 * member is "public"; `--stun none` learns nothing; a configured server is used instead of
 * members; and what a member's workers answer is only what a plain request earns.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { MeshSim } from "./mesh_sim.ts";
import { CONE, SYMMETRIC } from "./nat_profiles.ts";
import { encodeBindingRequest, parseStunResponse } from "../../lib/stun/stun_message.ts";

/** Two public members at different IPs, one node behind each kind of NAT, all trusting all. */
async function natMesh(seed: number) {
  const sim = new MeshSim({ seed });
  const home = sim.router.addNat("home", "203.0.113.1", CONE);
  const carrier = sim.router.addNat("carrier", "203.0.113.2", SYMMETRIC);
  await sim.add("pub1", "192.0.2.1:51821");
  await sim.add("pub2", "198.51.100.1:51821");
  await sim.add("cone", "10.99.1.2:51821", home);
  await sim.add("sym", "10.99.2.2:51821", carrier);
  const names = ["pub1", "pub2", "cone", "sym"];
  sim.trustEachOther(names);
  return { sim, names, home, carrier };
}

Deno.test("mesh sim stun: member STUN classifies a cone NAT, a symmetric NAT and a public node", async () => {
  const { sim, names, home, carrier } = await natMesh(21);
  await sim.start("pub1");
  for (const name of names.slice(1)) await sim.start(name, ["pub1"]);
  // cone ↔ sym needs hole punching (not here): each reaches both public members.
  sim.runUntil(
    () => sim.fullMesh(["pub1", "pub2", "cone"]) && sim.fullMesh(["pub1", "pub2", "sym"]),
    30_000,
    "each NATed node meshed with the public members",
  );
  const took = sim.runUntil(
    () =>
      sim.status("cone").nat.mapping === "endpoint-independent" &&
      sim.status("sym").nat.mapping === "varies-by-destination" &&
      sim.status("pub1").nat.mapping === "public",
    10_000,
    `classified (cone ${sim.status("cone").nat.mapping}, sym ${sim.status("sym").nat.mapping})`,
  );
  assertTrue(took <= 10_000);
  // The cone's mapped endpoint is its one mapping on the home NAT.
  const coneOutside =
    home.mappings(sim.now).find((m) => m.inside === sim.host("cone").address)!.outside;
  assertEquals(sim.status("cone").nat.mapped_v4, coneOutside);
  assertEquals(sim.host("cone").node!.mappedEndpoints(), [coneOutside]);
  // The symmetric node saw a different outside port from each of the two members.
  const symMapped = sim.host("sym").node!.mappedEndpoints();
  assertEquals(symMapped.length, 2, String(symMapped));
  const outsides = carrier.mappings(sim.now).map((m) => m.outside);
  for (const endpoint of symMapped) assertTrue(outsides.includes(endpoint), endpoint);
  // Both NATed nodes asked exactly the two public members.
  const report = sim.host("cone").node!.netcheck(51821);
  assertEquals(report.stun, "members");
  assertEquals(report.servers.map((s) => s.server).sort(), [
    "192.0.2.1:51821",
    "198.51.100.1:51821",
  ]);
  assertTrue(report.servers.every((s) => s.rtt_ms !== null && s.rtt_ms > 0 && s.error === null));
  assertEquals(sim.status("pub1").nat.mapped_v4, "192.0.2.1:51821");
  // A refresh at most every 60 s keeps the answers (and the classification) current.
  sim.run(125_000);
  assertEquals(sim.status("cone").nat.mapping, "endpoint-independent");
  assertEquals(sim.status("sym").nat.mapping, "varies-by-destination");
  assertTrue(sim.host("cone").node!.netcheck(51821).servers.every((s) => s.mapped !== null));
});

Deno.test("mesh sim stun: --stun none learns nothing; --stun SERVER asks that server, not members", async () => {
  const { sim, names } = await natMesh(22);
  sim.host("cone").stun = { kind: "off" };
  sim.host("sym").stun = { kind: "servers", servers: ["198.51.100.1:51821"] };
  await sim.start("pub1");
  for (const name of names.slice(1)) await sim.start(name, ["pub1"]);
  // cone ↔ sym needs hole punching (not here): each reaches both public members.
  sim.runUntil(
    () => sim.fullMesh(["pub1", "pub2", "cone"]) && sim.fullMesh(["pub1", "pub2", "sym"]),
    30_000,
    "each NATed node meshed with the public members",
  );
  sim.run(10_000);
  assertEquals(sim.status("cone").nat, { mapped_v4: null, mapped_v6: null, mapping: "unknown" });
  assertEquals(sim.host("cone").node!.netcheck(51821).stun, "off");
  const sym = sim.host("sym").node!.netcheck(51821);
  assertEquals(sym.servers.map((s) => s.server), ["198.51.100.1:51821"]);
  assertTrue(sym.mapped_v4?.startsWith("203.0.113.2:"), String(sym.mapped_v4));
  // One server cannot tell how the mapping behaves.
  assertEquals(sym.mapping, "unknown");
});

Deno.test("mesh sim stun: a member answers an outsider's plain request only, at a bounded rate", async () => {
  const { sim } = await natMesh(23);
  await sim.start("pub1");
  const outsider = "192.0.2.66:4000";
  const heard: Uint8Array[] = [];
  sim.router.attach(outsider, (_from, data) => heard.push(data));
  const request = encodeBindingRequest(new Uint8Array(12).fill(9));
  const malformed = request.slice();
  malformed[request.length - 1] ^= 1; // FINGERPRINT wrong
  sim.router.send(outsider, "192.0.2.1:51821", malformed);
  for (let i = 0; i < 200; i++) sim.router.send(outsider, "192.0.2.1:51821", request);
  sim.run(100);
  // An untrusted sender gets plain answers, rate-limited (≤ 2 × burst in one instant).
  assertTrue(heard.length > 0 && heard.length <= 40, `${heard.length} answers`);
  for (const answer of heard) {
    const parsed = parseStunResponse(answer);
    assertTrue(parsed.ok && parsed.response.fingerprint);
    if (parsed.ok) assertEquals(parsed.response.mapped!.port, 4000);
    assertTrue(answer.length <= request.length, "an answer is no bigger than the request");
  }
});
