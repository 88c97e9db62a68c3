/** Shared set-up for the SWIM tests: a converged cluster and failure messages with the seed. */

import { Cluster, type ClusterOptions } from "./sim/cluster.ts";

/** Builds `n` nodes joining through node 0, runs until converged, or throws with the seed. */
export function convergedCluster(options: ClusterOptions, limit = 60_000): Cluster {
  const cluster = new Cluster(options);
  cluster.start(0);
  for (let i = 1; i < options.n; i++) cluster.net.at(i * 20, () => cluster.start(i, [0]));
  cluster.run(options.n * 20 + 1);
  const at = cluster.runUntil(() => cluster.converged(), limit);
  if (at === null) throw new Error(`seed ${options.seed}: cluster did not converge in ${limit} ms`);
  return cluster;
}

/** Throws `message` (prefixed with the seed, so a failure can be replayed) unless `ok`. */
export function check(ok: boolean, seed: number, message: string): void {
  if (!ok) throw new Error(`seed ${seed}: ${message}`);
}
