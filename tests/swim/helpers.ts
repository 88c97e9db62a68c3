/** Shared set-up for the SWIM tests: a converged cluster and failure messages with the seed. */

import { type AliveRecord, keyId } from "../../lib/swim/records.ts";
import { Cluster, type ClusterOptions } from "./sim/cluster.ts";

/** The endpoint every `recordOf` record advertises. */
export const RECORD_ADDRESS = "10.0.0.1:51821";

/** A 32-byte key whose first 4 bytes are `n` (big-endian), the rest zero. */
export function keyOf(n: number): Uint8Array {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, n);
  return key;
}

/**
 * A first record of `key` as onAlive hands it to MemberTable.joinCold (unsigned: the table
 * reads only these fields).
 */
export function recordOf(key: Uint8Array): AliveRecord {
  return {
    id: keyId(key),
    subject: key,
    epoch: 3,
    incarnation: 1,
    endpoints: [RECORD_ADDRESS],
    nat: 0,
    flags: 0,
  } as unknown as AliveRecord;
}

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
