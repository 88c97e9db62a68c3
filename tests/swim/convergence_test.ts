/** Convergence: nodes joining through one seed all end up seeing each other alive. */

import { assertTrue as assert } from "../assert.ts";
import { Cluster } from "./sim/cluster.ts";

Deno.test("swim: 24 nodes joining through a single seed converge (real crypto)", () => {
  const seed = 1;
  const cluster = new Cluster({ n: 24, seed });
  cluster.start(0);
  for (let i = 1; i < 24; i++) cluster.net.at(i * 50, () => cluster.start(i, [0]));
  cluster.run(24 * 50);
  const at = cluster.runUntil(() => cluster.converged(), 60_000);
  assert(at !== null, `seed ${seed}: not converged after 60 s`);
  console.log(`converged at ${at} ms, ${cluster.net.datagrams} datagrams`);
  // No one was ever falsely suspected on a clean network.
  const suspicions = cluster.events.filter((e) => e.event.type === "suspect");
  assert(suspicions.length === 0, `seed ${seed}: ${suspicions.length} false suspicions`);
});
