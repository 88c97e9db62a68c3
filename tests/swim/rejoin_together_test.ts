/**
 * Found by the soak: nodes that rejoin at the same time took 20–45 s to see the whole mesh.
 * The seed's Ack carried its pending gossip (the other rejoiners' records), which were applied
 * before the joiner counted what it knew, so it thought it already knew the mesh and skipped the
 * full sync, leaving the rest to push-pull (one page per 30 s).
 */

import { check } from "./helpers.ts";
import { Cluster } from "./sim/cluster.ts";

Deno.test("swim: three nodes restarted together each see the whole mesh within 5 s", () => {
  for (const seed of [1, 2, 3]) {
    const cluster = new Cluster({ n: 24, seed, crypto: "fast" });
    cluster.keepEvents = false;
    cluster.start(0);
    for (let i = 1; i < 24; i++) cluster.start(i, [0]);
    check(cluster.runUntil(() => cluster.converged(), 300_000) !== null, seed, "no formation");
    const together = [5, 14, 21];
    for (const k of together) cluster.crash(k);
    cluster.run(cluster.net.now + 40_000);
    const restartedAt = cluster.net.now;
    for (const k of together) cluster.restart(k, [0, 1]);
    const learned = cluster.runUntil(
      () => together.every((k) => cluster.running().every((j) => j === k || cluster.sees(k, j))),
      restartedAt + 5_000,
      50,
    );
    check(learned !== null, seed, "a node restarted with others did not see the mesh in 5 s");
  }
});
