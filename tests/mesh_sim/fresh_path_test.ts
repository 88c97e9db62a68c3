/**
 * A handshake on a path that just became usable (issue 13, lib/daemon/fresh_paths.ts): when the
 * first initiation through a new relayed route is lost, the node starts another well before
 * WireGuard's own retry (REKEY_TIMEOUT, 5 s), so the relayed path carries traffic within about a
 * second of being usable.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { RELAY_HEADER_BYTES, RELAY_TO, relayFrameKind } from "../../lib/relay/relay_frame.ts";
import { MESSAGE_HANDSHAKE_INITIATION, REKEY_TIMEOUT } from "../../lib/wireguard/constants.ts";
import { MeshSim } from "./mesh_sim.ts";
import { SYMMETRIC } from "./nat_profiles.ts";

/** The route-to-handshake bound asserted: the first fresh-path retry (1 s) plus round trips. */
const ROUTE_TO_HANDSHAKE_MS = 1_500;

Deno.test("fresh path: a relayed route whose first initiations are lost handshakes within 1.5 s, not after WireGuard's 5 s retry", async () => {
  const sim = new MeshSim({ seed: 13, stun: { kind: "off" } });
  const home = sim.router.addNat("home", "203.0.113.1", SYMMETRIC);
  const office = sim.router.addNat("office", "203.0.113.2", SYMMETRIC);
  const seed = await sim.add("seed", "192.0.2.1:51821");
  seed.relay = true;
  const a = await sim.add("a", "198.51.100.10:51821", home);
  const b = await sim.add("b", "198.51.100.20:51821", office);
  sim.trustEachOther(["seed", "a", "b"]);
  // The first handshake initiation each of a and b sends through the relay is lost.
  const lost = new Set<string>();
  sim.router.drop = (from, _to, data) => {
    if (relayFrameKind(data) !== RELAY_TO) return false;
    if (data[RELAY_HEADER_BYTES] !== MESSAGE_HANDSHAKE_INITIATION) return false;
    if (from !== a.address && from !== b.address) return false;
    if (lost.has(from)) return false;
    lost.add(from);
    return true;
  };
  await sim.start("seed");
  await sim.start("a", ["seed"]);
  await sim.start("b", ["seed"]);
  const routed = () =>
    sim.peerStatus("a", "b")?.connection === "relay" &&
    sim.peerStatus("b", "a")?.connection === "relay";
  sim.runUntil(routed, 20_000, "a and b routed through the relay\n" + sim.logs(), 10);
  const routedAt = sim.now;
  const handshaken = () =>
    sim.peerStatus("a", "b")?.last_handshake != null &&
    sim.peerStatus("b", "a")?.last_handshake != null;
  sim.runUntil(handshaken, 15_000, "a ↔ b handshake through the relay", 10);
  const took = sim.now - routedAt;
  console.log(`route → handshake ${took} ms with the first initiations lost (simulated)`);
  assertEquals(lost.size, 2, "both first initiations were dropped");
  assertTrue(took <= ROUTE_TO_HANDSHAKE_MS && took < REKEY_TIMEOUT, `took ${took} ms`);
  const packet = sim.sendPacket("a", "b");
  sim.run(100);
  assertTrue(sim.arrived("b", packet), "no packet a → b through the relay");
});
