/** Endpoint candidates in a member's signed record (issue 13): sources, bound, refresh. */

import { assertEquals } from "../assert.ts";
import { endpointCandidates } from "../../lib/daemon/endpoint_candidates.ts";
import { NatType } from "../../lib/swim/records.ts";
import { MeshSim } from "./mesh_sim.ts";

/** Reflexive endpoints are handed in by the test (what STUN would learn), not by STUN rounds. */
const NO_STUN = { kind: "off" } as const;

Deno.test("candidates: announced first, then the first interface address, reflexive, the rest; ≤ 4, no duplicates", () => {
  assertEquals(
    endpointCandidates({
      announced: ["203.0.113.9:51821"],
      local: ["198.51.100.10:51821", "[fd00::1]:51821", "198.51.100.11:51821"],
      reflexive: ["203.0.113.1:40000", "203.0.113.9:51821"],
    }),
    ["203.0.113.9:51821", "198.51.100.10:51821", "203.0.113.1:40000", "[fd00::1]:51821"],
  );
  assertEquals(endpointCandidates({ announced: [], local: [], reflexive: [] }), []);
});

Deno.test("candidates: reflexive endpoints reach the others in the signed record; an unchanged list is not re-signed", async () => {
  const sim = new MeshSim({ seed: 41, stun: NO_STUN });
  await sim.add("seed", "192.0.2.1:51821");
  await sim.add("a", "192.0.2.2:51821");
  sim.trustEachOther(["seed", "a"]);
  await sim.start("seed");
  await sim.start("a", ["seed"]);
  sim.runUntil(() => sim.fullMesh(["seed", "a"]), 30_000, "mesh");
  const a = sim.host("a").node!;
  const before = a.swim!.incarnation;
  a.setReflexiveEndpoints(["203.0.113.7:40000"], sim.now, NatType.Cone);
  assertEquals(a.swim!.incarnation, before + 1);
  a.setReflexiveEndpoints(["203.0.113.7:40000"], sim.now, NatType.Cone);
  a.setReflexiveEndpoints(["203.0.113.7:40000"], sim.now);
  assertEquals(a.swim!.incarnation, before + 1, "re-signed without a change");
  assertEquals(a.advertisedEndpoints, ["192.0.2.2:51821", "203.0.113.7:40000"]);
  sim.runUntil(
    () =>
      sim.host("seed").node!.swim!.member(sim.host("a").identity.publicKey)?.endpoints.length ===
        2,
    5_000,
    "the seed learns a's new candidates",
  );
  const seen = sim.host("seed").node!.swim!.member(sim.host("a").identity.publicKey)!;
  assertEquals(seen.endpoints, ["192.0.2.2:51821", "203.0.113.7:40000"]);
  assertEquals(seen.nat, NatType.Cone);
  a.setLocalEndpoints(["192.0.2.2:51821", "192.0.2.22:51821"], sim.now);
  assertEquals(a.swim!.incarnation, before + 2);
});
