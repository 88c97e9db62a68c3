/** The simulated router's NATs (RFC 4787 mapping and filtering, timeouts), alone and under a mesh. */

import { assertEquals, assertTrue } from "../assert.ts";
import { MeshSim } from "./mesh_sim.ts";
import { type Address, type NatBehaviour, SimRouter } from "./router.ts";

const INSIDE = "198.51.100.10:5000";
const A = "192.0.2.1:1000";
const B = "192.0.2.2:1000";

/** A router with one NAT at 203.0.113.1 and recorders at INSIDE, A, B and `others`. */
function lab(behaviour: NatBehaviour, others: Address[] = []) {
  const router = new SimRouter({ seed: 1, latencyMs: 5 });
  const nat = router.addNat("home", "203.0.113.1", behaviour);
  const seen = new Map<Address, Address[]>();
  const record = (at: Address) => (from: Address) => seen.get(at)!.push(from);
  seen.set(INSIDE, []);
  router.attach(INSIDE, record(INSIDE), nat);
  for (const address of [A, B, ...others]) {
    seen.set(address, []);
    router.attach(address, record(address));
  }
  const out = (to: Address) => router.send(INSIDE, to, new Uint8Array([1]), nat);
  const send = (from: Address, to: Address) => router.send(from, to, new Uint8Array([2]));
  const settle = (ms = 10) => router.deliverDue(router.now + ms);
  return { router, nat, seen, out, send, settle };
}

const CONE: NatBehaviour = {
  mapping: "endpoint-independent",
  filtering: "endpoint-independent",
  mappingTimeoutMs: 30_000,
};

Deno.test("nat: endpoint-independent mapping keeps one outside port; symmetric takes one per destination", () => {
  const cone = lab(CONE);
  cone.out(A);
  cone.out(B);
  cone.settle();
  assertEquals(cone.seen.get(A), ["203.0.113.1:40000"]);
  assertEquals(cone.seen.get(B), ["203.0.113.1:40000"]);
  const symmetric = lab({ ...CONE, mapping: "address-port-dependent" });
  symmetric.out(A);
  symmetric.out(B);
  symmetric.out("192.0.2.1:2000");
  symmetric.out(A);
  symmetric.settle();
  assertEquals(symmetric.seen.get(A), ["203.0.113.1:40000", "203.0.113.1:40000"]);
  assertEquals(symmetric.seen.get(B), ["203.0.113.1:40001"]);
  const perAddress = lab({ ...CONE, mapping: "address-dependent" });
  perAddress.out(A);
  perAddress.out("192.0.2.1:2000");
  perAddress.out(B);
  perAddress.settle();
  assertEquals(perAddress.nat.mappings(perAddress.router.now).length, 2);
});

Deno.test("nat: filtering lets in what each kind allows; nothing gets in without a mapping", () => {
  const stranger = "192.0.2.9:1000";
  const otherPort = "192.0.2.1:2000";
  const cases: [NatBehaviour["filtering"], Address, boolean][] = [
    ["endpoint-independent", stranger, true],
    ["address-dependent", stranger, false],
    ["address-dependent", otherPort, true],
    ["address-port-dependent", otherPort, false],
    ["address-port-dependent", A, true],
  ];
  for (const [filtering, from, passes] of cases) {
    const { router, seen, out, send, settle } = lab({ ...CONE, filtering }, [stranger, otherPort]);
    // Unsolicited: no mapping yet.
    send(from, "203.0.113.1:40000");
    settle();
    assertEquals(seen.get(INSIDE), [], `${filtering}: got in without a mapping`);
    assertEquals(router.drops["no-mapping"], 1);
    out(A);
    settle();
    send(from, "203.0.113.1:40000");
    settle();
    assertEquals(seen.get(INSIDE)!.length, passes ? 1 : 0, `${filtering} from ${from}`);
    assertEquals(router.drops.filtered, passes ? 0 : 1, `${filtering} from ${from}`);
    if (passes) assertEquals(seen.get(INSIDE), [from], "the inside host sees the real source");
  }
});

Deno.test("nat: a mapping expires after its timeout without outbound traffic; inbound does not refresh it", () => {
  const { router, seen, out, send, settle } = lab({ ...CONE, mappingTimeoutMs: 1_000 });
  out(A);
  settle();
  send(A, "203.0.113.1:40000");
  settle(900);
  assertEquals(seen.get(INSIDE)!.length, 1);
  // 995 ms after the last outbound datagram: inbound traffic kept flowing, the mapping did not.
  send(A, "203.0.113.1:40000");
  settle(200);
  assertEquals(seen.get(INSIDE)!.length, 1, "an expired mapping let a datagram in");
  assertEquals(router.drops["no-mapping"], 1);
  // Going out again opens a new mapping on a new port.
  out(A);
  settle();
  assertEquals(seen.get(A)!.at(-1), "203.0.113.1:40001");
});

Deno.test("nat: hosts behind one NAT reach each other privately; a private address elsewhere is unreachable", () => {
  const router = new SimRouter({ seed: 1 });
  const home = router.addNat("home", "203.0.113.1", CONE);
  const office = router.addNat("office", "203.0.113.2", CONE);
  const got: string[] = [];
  router.attach("198.51.100.10:1", (from) => got.push(`home10 from ${from}`), home);
  router.attach("198.51.100.11:1", (from) => got.push(`home11 from ${from}`), home);
  router.attach("198.51.100.10:2", (from) => got.push(`office10 from ${from}`), office);
  router.send("198.51.100.11:1", "198.51.100.10:1", new Uint8Array(1), home);
  router.send("198.51.100.10:2", "198.51.100.10:1", new Uint8Array(1), office);
  router.deliverDue(router.now + 10);
  assertEquals(got, ["home10 from 198.51.100.11:1"]);
  assertEquals(router.drops["no-host"], 1);
});

Deno.test("mesh sim: two nodes behind a port-restricted cone NAT reach a public seed; strangers are filtered", async () => {
  const sim = new MeshSim({ seed: 6 });
  const home = sim.router.addNat("home", "203.0.113.1", {
    mapping: "endpoint-independent",
    filtering: "address-port-dependent",
    mappingTimeoutMs: 30_000,
  });
  await sim.add("seed", "192.0.2.1:51821");
  await sim.add("a", "198.51.100.10:51821", home);
  await sim.add("b", "198.51.100.11:51821", home);
  const names = ["seed", "a", "b"];
  sim.trustEachOther(names);
  await sim.start("seed");
  await sim.start("a", ["seed"]);
  await sim.start("b", ["seed"]);
  sim.runUntil(() => sim.fullMesh(names), 30_000, "a mesh through the NAT");
  // The seed reaches each through its mapping; the two reach each other on the LAN.
  const mapped = home.mappings(sim.now);
  for (const name of ["a", "b"]) {
    const outside = mapped.find((m) => m.inside === sim.host(name).address)?.outside;
    assertTrue(outside !== undefined, `${name} has no mapping`);
    assertEquals(
      sim.peerStatus("seed", name)!.endpoint,
      outside,
      `the seed's endpoint for ${name}`,
    );
  }
  assertEquals(sim.peerStatus("a", "b")!.endpoint, sim.host("b").address);
  for (const [from, to] of [["a", "seed"], ["seed", "b"], ["b", "a"]]) {
    const packet = sim.sendPacket(from, to);
    sim.run(100);
    assertTrue(sim.arrived(to, packet), `no packet ${from} → ${to}`);
  }
  // A stranger on the internet who learned a's mapping cannot send through it.
  const stranger = "192.0.2.66:51821";
  sim.router.attach(stranger, () => {});
  const filtered = sim.router.drops.filtered;
  const target = mapped.find((m) => m.inside === sim.host("a").address)!.outside;
  sim.router.send(stranger, target, new Uint8Array(100));
  sim.run(100);
  assertEquals(sim.router.drops.filtered, filtered + 1);
  // Kept alive by membership and WireGuard traffic, the mappings outlive their timeout.
  sim.run(120_000);
  assertTrue(sim.fullMesh(names), "the mesh fell apart behind the NAT");
  assertEquals(
    home.mappings(sim.now).find((m) => m.inside === sim.host("a").address)?.outside,
    target,
  );
});

Deno.test("mesh sim: a node behind a symmetric NAT reaches a public seed; its mappings expire after it dies", async () => {
  const sim = new MeshSim({ seed: 9 });
  const carrier = sim.router.addNat("carrier", "203.0.113.2", {
    mapping: "address-port-dependent",
    filtering: "address-port-dependent",
    mappingTimeoutMs: 30_000,
  });
  await sim.add("seed", "192.0.2.1:51821");
  await sim.add("n1", "192.0.2.2:51821");
  await sim.add("phone", "198.51.100.20:51821", carrier);
  const names = ["seed", "n1", "phone"];
  sim.trustEachOther(names);
  await sim.start("seed");
  await sim.start("n1", ["seed"]);
  await sim.start("phone", ["seed"]);
  sim.runUntil(() => sim.fullMesh(names), 30_000, "a mesh through the symmetric NAT");
  // One mapping per destination: the seed and n1 each see the phone on its own port.
  const seen = ["seed", "n1"].map((name) => sim.peerStatus(name, "phone")!.endpoint);
  assertTrue(seen.every((endpoint) => endpoint?.startsWith("203.0.113.2:")), String(seen));
  assertTrue(seen[0] !== seen[1], `one outside port for two destinations: ${seen}`);
  const packet = sim.sendPacket("n1", "phone");
  sim.run(100);
  assertTrue(sim.arrived("phone", packet), "no packet n1 → phone");
  await sim.crash("phone");
  sim.run(29_000);
  assertTrue(carrier.mappings(sim.now).length > 0, "mappings went before their timeout");
  sim.run(2_000);
  assertEquals(carrier.mappings(sim.now), [], "mappings outlived their timeout");
});
