/** In-process mesh: formation from one seed, with the data path between nodes. */

import { assertEquals, assertTrue } from "../assert.ts";
import { formedMesh, FOUR_NODES } from "./mesh_sim.ts";
import { parseDeviceSnapshot } from "../device_snapshot.ts";
import { decodeHex, encodeBase64 } from "../../lib/encoding/base64.ts";

const NAMES = FOUR_NODES;

Deno.test("mesh sim: four nodes form a full mesh from one seed; packets cross the tunnels", async () => {
  const sim = await formedMesh(1);
  const formedAt = sim.now;
  for (const observer of NAMES) {
    const status = sim.status(observer);
    assertEquals(status.members, { alive: 3, suspect: 0, dead: 0 }, `${observer}'s members`);
    for (const subject of NAMES) {
      if (subject === observer) continue;
      const entry = sim.peerStatus(observer, subject)!;
      const host = sim.host(subject);
      assertEquals(entry.endpoint, host.address, `${observer}'s endpoint for ${subject}`);
      assertEquals(entry.wireguard_public_key, host.wireguardKey);
      // The device and status agree (status reads the same typed peers `wg show` renders).
      const peer = sim.devicePeer(observer, subject)!;
      assertEquals(peer.allowedIps, [`${entry.mesh_ipv4}/32`, `${entry.mesh_ipv6}/128`]);
      assertEquals(peer.endpoint, entry.endpoint);
    }
  }
  // `wg show` (the UAPI get=1 of the same device) agrees with status on keys and endpoints.
  for (const observer of NAMES) {
    const answer = sim.host(observer).device!.device.answer("get=1\n\n")!;
    const fromWg = [...parseDeviceSnapshot(answer)].map(([key, peer]) =>
      `${encodeBase64(decodeHex(key))} ${peer.endpoint}`
    ).sort();
    const fromStatus = sim.status(observer).peers.map((peer) =>
      `${peer.wireguard_public_key} ${peer.endpoint}`
    ).sort();
    assertEquals(fromWg, fromStatus, `${observer}: wg show and status disagree`);
    const routes = answer.split("\n").filter((line) => line.startsWith("allowed_ip=")).sort();
    const wanted = sim.status(observer).peers.flatMap((peer) => [
      `allowed_ip=${peer.mesh_ipv4}/32`,
      `allowed_ip=${peer.mesh_ipv6}/128`,
    ]).sort();
    assertEquals(routes, wanted, `${observer}: wg show's allowed IPs`);
  }
  // Between two nodes that are not the seed: a direct tunnel, both ways.
  const there = sim.sendPacket("n2", "n3");
  const back = sim.sendPacket("n3", "n2");
  sim.run(100);
  assertTrue(sim.arrived("n3", there), "n2 → n3 packet did not come out of n3's TUN");
  assertTrue(sim.arrived("n2", back), "n3 → n2 packet did not come out of n2's TUN");
  assertTrue(!sim.arrived("seed", there), "the seed saw a packet for n3");
  console.log(`  formed in ${((formedAt - 1_000_000) / 1000).toFixed(1)} s of simulated time`);
});
