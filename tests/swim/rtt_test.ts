/** RTT: direct probe acks give each member a smoothed round-trip time (relay choice uses it). */

import { assertEquals, assertTrue as assert } from "../assert.ts";
import { Cluster } from "./sim/cluster.ts";

Deno.test("swim: direct probes measure a member's RTT; a slower link measures slower", () => {
  const cluster = new Cluster({ n: 3, seed: 7 });
  cluster.net.link = { loss: 0, latency: 10, jitter: 0 };
  cluster.net.hostLinks.set(cluster.nodes[2].address, { loss: 0, latency: 60, jitter: 0 });
  cluster.start(0);
  cluster.net.at(10, () => cluster.start(1, [0]));
  cluster.net.at(20, () => cluster.start(2, [0]));
  const at = cluster.runUntil(() => cluster.converged(), 30_000);
  assert(at !== null, "not converged");
  cluster.run(at! + 20_000);
  const engine = cluster.nodes[0].engine!;
  const fast = engine.member(cluster.nodes[1].publicKey)!;
  const slow = engine.member(cluster.nodes[2].publicKey)!;
  assertEquals(fast.rtt, 20, "two 10 ms hops");
  assert(slow.rtt > 60 && slow.rtt < 200, `slow link rtt ${slow.rtt}`);
});
