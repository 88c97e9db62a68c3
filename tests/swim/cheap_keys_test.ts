/**
 * `SwimCrypto.cheapKeys`: a node that derives its session keys at each use instead of caching
 * them must derive exactly the keys its peers cache, in both directions and across restarts
 * (a new epoch changes the keys). Real crypto here: the simulator's stand-in ignores its
 * arguments, so only real keys can tell a swapped sender and receiver apart.
 */

import { assertTrue as assert } from "../assert.ts";
import { Cluster } from "./sim/cluster.ts";
import type { SwimCrypto } from "../../lib/swim/swim_crypto.ts";

Deno.test("swim: nodes that derive keys per use talk to nodes that cache them, across a restart", () => {
  const cluster = new Cluster({ n: 4, seed: 11, crypto: "real" });
  // Nodes 1 and 3 derive per use; 0 and 2 cache (the engine reads the flag at each use).
  for (const i of [1, 3]) (cluster.nodes[i].crypto as { cheapKeys?: boolean }).cheapKeys = true;
  // Key derivations of node 0 (caches) and node 1 (derives per use), to see the flag honoured.
  const derived = [0, 0];
  for (const i of [0, 1]) {
    const crypto = cluster.nodes[i].crypto as { sessionKey: SwimCrypto["sessionKey"] };
    const sessionKey = crypto.sessionKey;
    crypto.sessionKey = (...args) => {
      derived[i]++;
      return sessionKey(...args);
    };
  }
  cluster.start(0);
  for (let i = 1; i < 4; i++) cluster.net.at(i * 20, () => cluster.start(i, [0]));
  // All four up first: with node 0 alone, "converged" holds at once.
  cluster.run(4 * 20 + 1);
  const converged = cluster.runUntil(() => cluster.converged(), 60_000);
  assert(converged !== null, "cluster with mixed key caching did not converge");
  cluster.run(cluster.net.now + 10_000);
  const before = cluster.nodes[0].engine!.stats.accepted;
  // Node 1 derives a key for every datagram it seals or opens (Hellos aside); node 0 one per
  // peer, direction and epoch.
  const cheapStats = cluster.nodes[1].engine!.stats;
  assert(
    derived[1] >= cheapStats.accepted,
    `node 1 derived ${derived[1]} keys for ${cheapStats.accepted} datagrams accepted`,
  );
  assert(derived[0] <= 12, `node 0 derived ${derived[0]} keys: its cache was not used`);
  // A restart of a deriving node changes every key it shares; the others must accept it again.
  cluster.restart(1, [0]);
  cluster.restart(2, [3]);
  const again = cluster.runUntil(() => cluster.converged(), cluster.net.now + 60_000);
  assert(again !== null, "cluster did not converge again after restarts");
  cluster.run(cluster.net.now + 10_000);
  for (let i = 0; i < 4; i++) {
    const engine = cluster.nodes[i].engine!;
    assert(engine.stats.accepted > 0, `node ${i} accepted nothing`);
    assert((engine.stats.dropped["auth"] ?? 0) === 0, `node ${i} failed authentication`);
  }
  assert(cluster.nodes[0].engine!.stats.accepted > before, "node 0 heard nothing after restarts");
});
