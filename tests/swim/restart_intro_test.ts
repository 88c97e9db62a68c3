/**
 * A member that hears from a peer running a newer epoch than the record it holds (the peer left
 * or died and restarted) asks that peer for its record directly (INTRODUCE), instead of waiting
 * for gossip or push-pull to bring it. Seen in the soak: after `down` and a restart, one observer
 * kept a 24-node mesh's rejoined node as "left" for ~30 s.
 */

import { check, convergedCluster } from "./helpers.ts";

Deno.test("swim: a restarted member is taken back on its own traffic, without gossip", () => {
  const seed = 1161;
  const cluster = convergedCluster({ n: 5, seed });
  const observer = 4;
  const restarted = 2;
  cluster.nodes[restarted].engine!.leave(cluster.net.now);
  cluster.flush(restarted);
  const left = cluster.runUntil(
    () => cluster.sees(observer, restarted, "left"),
    cluster.net.now + 10_000,
  );
  check(left !== null, seed, "the observer never saw the leave");
  cluster.crash(restarted);
  // From now on the observer hears only the restarted node itself: no gossip, no push-pull
  // pages from anyone else can bring it the new record.
  const observerAddress = cluster.nodes[observer].address;
  const restartedAddress = cluster.nodes[restarted].address;
  cluster.net.partition = (from, to) =>
    (to === observerAddress && from !== restartedAddress) ||
    (from === observerAddress && to !== restartedAddress);
  const restartAt = cluster.net.now;
  cluster.restart(restarted, [0]);
  const back = cluster.runUntil(
    () => cluster.sees(observer, restarted),
    restartAt + 10_000,
  );
  check(back !== null, seed, "the observer kept the restarted member as left");
});
