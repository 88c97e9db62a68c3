/**
 * Relaying in the in-process mesh (issue 13): two members behind symmetric NATs (no direct path,
 * no punching) reach each other through a trusted relay-capable member, end to end encrypted.
 */

import { assertEquals, assertIncludes, assertTrue } from "../assert.ts";
import { encodeRelayFrame, hasRelayMagic, RELAY_TO } from "../../lib/relay/relay_frame.ts";
import {
  RELAY_DROP_NO_PATH,
  RELAY_DROP_RATE,
  RELAY_DROP_UNTRUSTED,
  RELAY_FORWARD,
  RELAY_HELD,
  RELAY_HELD_RELEASED,
  type RelayLimits,
  type RelayTable,
} from "../../lib/relay/relay_table.ts";
import { virtualRelayEndpoint } from "../../lib/relay/relay_endpoints.ts";
import { wireguardPublicKeyOf } from "../../lib/identity/wireguard_key.ts";
import { parseEndpoint } from "../../lib/wireguard/endpoint.ts";
import { MeshSim } from "./mesh_sim.ts";
import { parseControlResponse } from "../../lib/control/control_protocol.ts";
import { formatStatus } from "../../lib/control/status_format.ts";
import { parseRelayFlags } from "../../lib/cli/relay_flags.ts";
import type { Nat, NatBehaviour } from "./router.ts";
import { SYMMETRIC } from "./nat_profiles.ts";

const NO_STUN = { kind: "off" } as const;

function injectReflexive(sim: MeshSim, name: string, nat: Nat): void {
  const host = sim.host(name);
  const outside = nat.mappings(sim.now).find((m) => m.inside === host.address)?.outside;
  if (outside === undefined) throw new Error(`${name} has no mapping at ${nat.name}`);
  host.node!.setReflexiveEndpoints([outside], sim.now);
}

/** a and b behind their own symmetric NATs; `relays` are public relay-capable members. */
async function symmetricPair(seed: number, relays: string[], limits: Partial<RelayLimits> = {}) {
  const sim = new MeshSim({ seed, stun: NO_STUN });
  const home = sim.router.addNat("home", "203.0.113.1", SYMMETRIC);
  const office = sim.router.addNat("office", "203.0.113.2", SYMMETRIC);
  for (const [i, name] of relays.entries()) {
    const host = await sim.add(name, `192.0.2.${i + 1}:51821`);
    host.relay = true;
    host.relayLimits = limits;
  }
  await sim.add("a", "198.51.100.10:51821", home);
  await sim.add("b", "198.51.100.20:51821", office);
  const names = [...relays, "a", "b"];
  sim.trustEachOther(names);
  for (const name of relays) await sim.start(name, name === relays[0] ? [] : [relays[0]]);
  const startedAt = sim.now;
  await sim.start("a", [relays[0]]);
  await sim.start("b", [relays[0]]);
  sim.run(500);
  injectReflexive(sim, "a", home);
  injectReflexive(sim, "b", office);
  return { sim, names, startedAt };
}

/** Counts relay frames on the wire by (source, destination). */
function tapRelay(sim: MeshSim) {
  const frames = new Map<string, number>();
  sim.router.tap = (from, to, data) => {
    if (hasRelayMagic(data)) frames.set(`${from}>${to}`, (frames.get(`${from}>${to}`) ?? 0) + 1);
  };
  return frames;
}

function relayTable(sim: MeshSim, name: string): RelayTable {
  return sim.host(name).device!.device.relaySockets[0].relay!;
}

function relayedVia(sim: MeshSim, observer: string, subject: string, relay: string): boolean {
  const entry = sim.peerStatus(observer, subject);
  return entry?.connection === "relay" && entry.relay === relay && entry.last_handshake !== null;
}

/** Runs `sim` until a and b reach each other through `relay` both ways (`what` on a timeout). */
function runUntilRelayed(sim: MeshSim, relay: string, timeoutMs: number, what: string): void {
  sim.runUntil(
    () => relayedVia(sim, "a", "b", relay) && relayedVia(sim, "b", "a", relay),
    timeoutMs,
    what,
  );
}

Deno.test("relay: symmetric ↔ symmetric go through the public relay within seconds; data flows both ways, end to end", async () => {
  const { sim, startedAt } = await symmetricPair(31, ["seed"]);
  runUntilRelayed(sim, "seed", 20_000, "a ↔ b relayed via seed\n" + sim.logs());
  const frames = tapRelay(sim);
  const before = relayTable(sim, "seed").counts[RELAY_FORWARD];
  const took = sim.now - startedAt;
  assertTrue(took <= 5_000, `relayed path took ${took} ms`);
  console.log(`relayed after ${took} ms (simulated)`);
  for (const [from, to] of [["a", "b"], ["b", "a"]]) {
    const packet = sim.sendPacket(from, to);
    sim.run(200);
    assertTrue(sim.arrived(to, packet), `no packet ${from} → ${to}`);
    assertTrue(!sim.arrived("seed", packet), "the relay decrypted a relayed packet");
  }
  const seedAddress = sim.host("seed").address;
  const through = [...frames.keys()];
  assertTrue(through.some((k) => k.endsWith(`>${seedAddress}`)), "nothing sent to the relay");
  assertTrue(through.some((k) => k.startsWith(`${seedAddress}>`)), "the relay forwarded nothing");
  assertEquals(
    relayTable(sim, "seed").counts[RELAY_FORWARD] - before,
    2,
    "each data packet relayed once",
  );
  const status = sim.status("a");
  assertEquals(status.peers.find((p) => p.name === "seed")?.connection, "direct");
  assertEquals(status.relay_serving, undefined, "a relays nothing");
  // The relay's status: what it forwarded, per pair by name, and its drops by reason.
  const serving = sim.status("seed").relay_serving!;
  const table = relayTable(sim, "seed");
  assertEquals(serving.forwarded_packets, table.counts[RELAY_FORWARD]);
  assertEquals(serving.forwarded_bytes, table.forwardedBytes);
  assertEquals(serving.dropped.untrusted, table.counts[RELAY_DROP_UNTRUSTED]);
  const pairs = new Map(serving.pairs.map((p) => [`${p.from}>${p.to}`, p]));
  assertEquals([...pairs.keys()].sort(), ["a>b", "b>a"]);
  for (const pair of pairs.values()) assertTrue(pair.packets >= 2 && pair.bytes > 0);
  assertEquals(
    serving.pairs.reduce((n, p) => n + p.packets, 0),
    serving.forwarded_packets,
    "every forwarded datagram is counted on its pair",
  );
  // The same object passes the CLI's strict status check.
  parseControlResponse(JSON.stringify({ ok: true, status: sim.status("seed") }), "status");
});

Deno.test("relay: when the relay dies another relay-capable member takes over", async () => {
  const { sim } = await symmetricPair(32, ["r1", "r2"]);
  let first = "";
  sim.runUntil(
    () => {
      for (const r of ["r1", "r2"]) {
        if (relayedVia(sim, "a", "b", r) && relayedVia(sim, "b", "a", r)) first = r;
      }
      return first !== "";
    },
    20_000,
    "a ↔ b relayed\n" + sim.logs(),
  );
  const other = first === "r1" ? "r2" : "r1";
  await sim.crash(first);
  const crashedAt = sim.now;
  runUntilRelayed(
    sim,
    other,
    60_000,
    `a ↔ b relayed via ${other} after ${first} died\n` + sim.logs(),
  );
  const took = sim.now - crashedAt;
  console.log(`relay ${first} died; via ${other} after ${took} ms (simulated)`);
  assertTrue(took <= 15_000, `failover took ${took} ms`);
  for (const [from, to] of [["a", "b"], ["b", "a"]]) {
    const packet = sim.sendPacket(from, to);
    sim.run(200);
    assertTrue(sim.arrived(to, packet), `no packet ${from} → ${to} after failover`);
  }
});

/** `observer`'s virtual endpoint for `subject` through `relay` (its binding there). */
function bindingEndpoint(sim: MeshSim, observer: string, subject: string, relay: string): string {
  const [ip, port] = sim.host(relay).address.split(":");
  const want = ip.split(".").map(Number);
  const peer = sim.host(subject).identity.publicKey;
  const bindings = sim.host(observer).device!.device.relaySockets[0].endpoints.snapshot();
  const found = bindings.find(([, b]) =>
    b.relayPort === Number(port) && want.every((byte, i) => b.relayIp[12 + i] === byte) &&
    b.peerId.every((byte, i) => byte === peer[i])
  );
  if (found === undefined) throw new Error(`${observer} has no binding for ${subject} at ${relay}`);
  return virtualRelayEndpoint(found[0]);
}

Deno.test("relay: a peer that roamed onto a relay leaves it as soon as the relay is suspected (LAN timings)", async () => {
  // As in the netns lab: sub-ms links, both relays bound at each side, each side sending through
  // the relay it picked. b sent through the other relay, so a's WireGuard roamed onto it; when
  // that relay dies a's route is unchanged, and a must not keep sending into its released slot
  // until b happens to send again (a keepalive, up to 25 s later).
  const sim = new MeshSim({ seed: 36, stun: NO_STUN, latencyMs: 1, jitterMs: 1 });
  const home = sim.router.addNat("home", "203.0.113.1", SYMMETRIC);
  const office = sim.router.addNat("office", "203.0.113.2", SYMMETRIC);
  for (const [i, name] of ["r1", "r2"].entries()) {
    (await sim.add(name, `192.0.2.${i + 1}:51821`)).relay = true;
  }
  await sim.add("a", "198.51.100.10:51821", home);
  await sim.add("b", "198.51.100.20:51821", office);
  sim.trustEachOther(["r1", "r2", "a", "b"]);
  await sim.start("r1");
  await sim.start("r2", ["r1"]);
  await sim.start("a", ["r1"]);
  await sim.start("b", ["r1"]);
  sim.run(500);
  injectReflexive(sim, "a", home);
  injectReflexive(sim, "b", office);
  let used = "";
  sim.runUntil(
    () => {
      for (const r of ["r1", "r2"]) if (relayedVia(sim, "a", "b", r)) used = r;
      return used !== "" && relayedVia(sim, "b", "a", used);
    },
    20_000,
    "a ↔ b relayed\n" + sim.logs(),
  );
  const roamed = used === "r1" ? "r2" : "r1";
  // What a's WireGuard does when b's datagrams arrive through `roamed`.
  const endpoint = bindingEndpoint(sim, "a", "b", roamed);
  sim.host("a").device!.configure({
    peers: [{
      kind: "upsert",
      publicKey: wireguardPublicKeyOf(sim.host("b").identity.publicKey),
      endpoint: parseEndpoint(endpoint),
    }],
  });
  assertTrue(relayedVia(sim, "a", "b", roamed), "a did not roam onto " + roamed);
  await sim.crash(roamed);
  const crashedAt = sim.now;
  sim.runUntil(
    () => relayedVia(sim, "a", "b", used),
    10_000,
    `a back on ${used} after ${roamed} died: ${JSON.stringify(sim.peerStatus("a", "b"))}`,
  );
  const took = sim.now - crashedAt;
  const state = sim.peerStatus("a", roamed)?.state;
  console.log(`a left ${roamed} after ${took} ms (simulated), ${roamed} ${state} at a`);
  assertEquals(state, "suspect", "a moved only when the relay was declared dead");
  assertTrue(took <= 3_000, `a left the dead relay after ${took} ms`);
  const packet = sim.sendPacket("a", "b");
  sim.run(200);
  assertTrue(sim.arrived("b", packet), "no packet a → b after the dead relay was left");
});

Deno.test("relay: while relayed, a later successful punch switches the pair to direct; the flow goes on", async () => {
  const CONE: NatBehaviour = { ...SYMMETRIC, mapping: "endpoint-independent" };
  const sim = new MeshSim({ seed: 33, stun: NO_STUN });
  const home = sim.router.addNat("home", "203.0.113.1", CONE);
  const office = sim.router.addNat("office", "203.0.113.2", CONE);
  (await sim.add("seed", "192.0.2.1:51821")).relay = true;
  await sim.add("a", "198.51.100.10:51821", home);
  await sim.add("b", "198.51.100.20:51821", office);
  sim.trustEachOther(["seed", "a", "b"]);
  // The two sites cannot reach each other (a firewall between them): punching fails.
  sim.router.partition([["198.51.100.10", "203.0.113.1"], ["198.51.100.20", "203.0.113.2"]]);
  await sim.start("seed");
  await sim.start("a", ["seed"]);
  await sim.start("b", ["seed"]);
  sim.run(500);
  injectReflexive(sim, "a", home);
  injectReflexive(sim, "b", office);
  runUntilRelayed(sim, "seed", 20_000, "relayed while the sites are cut off\n" + sim.logs());
  sim.run(5_000);
  assertTrue(relayedVia(sim, "a", "b", "seed"), "left the relay while no direct path exists");
  // The firewall opens; a flow keeps running across the switch.
  sim.router.partition(null);
  const healedAt = sim.now;
  const sent: [string, Uint8Array][] = [];
  let direct = false;
  while (!direct && sim.now - healedAt < 300_000) {
    sent.push(["b", sim.sendPacket("a", "b")], ["a", sim.sendPacket("b", "a")]);
    sim.run(250);
    direct = sim.peerStatus("a", "b")?.connection === "direct" &&
      sim.peerStatus("b", "a")?.connection === "direct";
  }
  assertTrue(direct, "never went direct\n" + sim.logs());
  console.log(`direct ${sim.now - healedAt} ms after the path opened (simulated)`);
  sim.run(500);
  const lost = sent.filter(([to, packet]) => !sim.arrived(to, packet)).length;
  console.log(`${lost} of ${sent.length} packets lost across the switch`);
  assertTrue(lost <= 2, `${lost} of ${sent.length} packets lost across the switch`);
  const frames = tapRelay(sim);
  for (const [from, to] of [["a", "b"], ["b", "a"]]) {
    const packet = sim.sendPacket(from, to);
    sim.run(200);
    assertTrue(sim.arrived(to, packet), `no packet ${from} → ${to} directly`);
  }
  assertEquals(frames.size, 0, "still relaying after the switch");
});

Deno.test("relay: an outsider's frames get nothing from the relay", async () => {
  const { sim } = await symmetricPair(34, ["seed"]);
  runUntilRelayed(sim, "seed", 20_000, "a ↔ b relayed via seed");
  const table = relayTable(sim, "seed");
  const unwrappedAtB = () =>
    sim.host("b").device!.device.relaySockets.reduce((n, s) => n + s.stats.unwrapped, 0);
  const unwrapped = unwrappedAtB();
  const untrusted = table.counts[RELAY_DROP_UNTRUSTED];
  const payload = new Uint8Array(64);
  payload[0] = 4;
  const frame = encodeRelayFrame(RELAY_TO, sim.host("b").identity.publicKey, payload);
  // A host on the internet that no member trusts sends frames naming b.
  for (let i = 0; i < 10; i++) sim.router.send("192.0.2.99:4000", sim.host("seed").address, frame);
  sim.run(200);
  assertEquals(table.counts[RELAY_DROP_UNTRUSTED] - untrusted, 10);
  assertEquals(unwrappedAtB(), unwrapped, "b received an outsider's frame");
});

Deno.test("relay: per-sender packet limits hold at the relay", async () => {
  // Room for the handshakes and keepalives, not for a flood.
  const { sim } = await symmetricPair(35, ["seed"], { packetBurst: 50, packetsPerSecond: 100 });
  runUntilRelayed(sim, "seed", 20_000, "a ↔ b relayed via seed");
  sim.run(2_000);
  const table = relayTable(sim, "seed");
  const forwarded = table.counts[RELAY_FORWARD];
  const packets = [];
  for (let i = 0; i < 500; i++) packets.push(sim.sendPacket("a", "b"));
  sim.run(200);
  const arrived = packets.filter((p) => sim.arrived("b", p)).length;
  const relayed = table.counts[RELAY_FORWARD] - forwarded;
  const limited = table.counts[RELAY_DROP_RATE];
  console.log(`flood: ${arrived} of 500 arrived, ${relayed} relayed, ${limited} refused`);
  assertTrue(relayed <= 50 + 100 * 0.25, `${relayed} relayed past the budget`);
  assertTrue(limited >= 500 - relayed - 5, `only ${limited} refused`);
  assertTrue(arrived > 0 && arrived <= relayed, `${arrived} arrived`);
  // b's own budget is untouched by a's flood.
  const back = sim.sendPacket("b", "a");
  sim.run(100);
  assertTrue(sim.arrived("a", back), "b → a stopped by a's flood");
});

Deno.test("relay: --relay-rate 1mbit caps a sender at the relay; status shows the limits in force", async () => {
  // The budgets `up --relay --relay-rate 1mbit --relay-pairs 8` hands the daemon: 125,000 B/s
  // and 100 datagrams/s per sender, bursts of 16 datagrams (the floor) and 24,000 bytes.
  const limits = parseRelayFlags("1mbit", "8", true);
  assertEquals(limits, {
    bytesPerSecond: 125_000,
    packetsPerSecond: 100,
    byteBurst: 24_000,
    packetBurst: 16,
    maxPairs: 8,
  });
  const { sim } = await symmetricPair(36, ["seed"], limits);
  runUntilRelayed(sim, "seed", 20_000, "a ↔ b relayed via seed");
  sim.run(2_000);
  const table = relayTable(sim, "seed");
  const [forwarded, limited] = [table.counts[RELAY_FORWARD], table.counts[RELAY_DROP_RATE]];
  const packets = [];
  for (let i = 0; i < 300; i++) packets.push(sim.sendPacket("a", "b"));
  sim.run(100);
  const relayed = table.counts[RELAY_FORWARD] - forwarded;
  const refused = table.counts[RELAY_DROP_RATE] - limited;
  console.log(`flood at 1mbit: ${relayed} of 300 relayed, ${refused} refused`);
  // With the gigabit defaults (burst 10,000) all 300 would pass.
  assertTrue(relayed <= 16 + 100 * 0.1 + 1, `${relayed} relayed past the budget`);
  assertEquals(relayed + refused, 300, "every datagram of the flood is forwarded or refused");
  assertTrue(packets.filter((p) => sim.arrived("b", p)).length <= relayed);
  const serving = sim.status("seed").relay_serving!;
  assertEquals(serving.limits, {
    bytes_per_second: 125_000,
    packets_per_second: 100,
    byte_burst: 24_000,
    packet_burst: 16,
    max_pairs: 8,
  });
  assertTrue(serving.dropped.rate >= refused, `status counts ${serving.dropped.rate} rate drops`);
  const text = formatStatus(sim.status("seed"), Date.now());
  assertIncludes(
    text,
    "limits per sender per data thread: 1 Mbit/s (122.1 KiB/s), 100 datagrams/s; " +
      "at most 8 pairs per data thread",
  );
  parseControlResponse(JSON.stringify({ ok: true, status: sim.status("seed") }), "status");
});

Deno.test("relay: initiations that reach the relay before it proved their sender's address are held and forwarded, not lost", async () => {
  // a and b join through the seed and prove the relay's address (and route through it) before
  // the relay's own SWIM probes prove theirs: their first initiations reach a relay that does
  // not yet know them. Dropped, each pair waited for a fresh-path retry (seed 107: 2.6 s).
  const sim = new MeshSim({ seed: 107, stun: NO_STUN });
  const home = sim.router.addNat("home", "203.0.113.1", SYMMETRIC);
  const office = sim.router.addNat("office", "203.0.113.2", SYMMETRIC);
  await sim.add("seed", "192.0.2.1:51821");
  const relay = await sim.add("r", "192.0.2.2:51821");
  relay.relay = true;
  await sim.add("a", "198.51.100.10:51821", home);
  await sim.add("b", "198.51.100.20:51821", office);
  sim.trustEachOther(["seed", "r", "a", "b"]);
  await sim.start("seed");
  await sim.start("r", ["seed"]);
  const startedAt = sim.now;
  // Initiations on the wire: to the relay (TO frames) and on from it (FROM frames).
  const initiations = { to: 0, from: 0 };
  sim.router.tap = (from, to, data) => {
    if (!hasRelayMagic(data) || data[16] !== 1) return;
    if (to === relay.address) initiations.to++;
    else if (from === relay.address) initiations.from++;
  };
  await sim.start("a", ["seed"]);
  await sim.start("b", ["seed"]);
  runUntilRelayed(sim, "r", 20_000, "a ↔ b relayed via r\n" + sim.logs());
  const took = sim.now - startedAt;
  sim.router.tap = null;
  console.log(`relayed after ${took} ms (simulated), ${initiations.to} initiations via r`);
  const table = relayTable(sim, "r");
  assertEquals(
    [table.counts[RELAY_DROP_UNTRUSTED], table.counts[RELAY_DROP_NO_PATH]],
    [0, 0],
    "an initiation was lost at the relay",
  );
  assertEquals(initiations.from, initiations.to, "every initiation sent to r went on");
  assertTrue(table.holds[RELAY_HELD] >= 1, "no initiation waited: the race did not happen");
  assertEquals(table.holds[RELAY_HELD_RELEASED], table.holds[RELAY_HELD]);
  assertTrue(took < 2_000, `relayed after ${took} ms`);
  // Status says so, apart from the drops.
  const serving = sim.status("r").relay_serving!;
  assertEquals(serving.held?.released, table.holds[RELAY_HELD_RELEASED]);
  assertEquals([serving.dropped.untrusted, serving.dropped["no-path"]], [0, 0]);
  assertIncludes(
    formatStatus(sim.status("r"), Date.now()),
    "handshakes held until an address was proven",
  );
});
