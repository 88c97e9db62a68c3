/** Revoking trust on a running node drops the member at once; trusting again brings it back. */

import { check, convergedCluster } from "./helpers.ts";
import { keyId } from "../../lib/swim/records.ts";

/** A converged cluster in which node 0 trusts everyone except the keys in the returned set. */
function clusterWithRevocableTrust(n: number, seed: number) {
  const revokedByZero = new Set<string>();
  const cluster = convergedCluster({
    n,
    seed,
    nodeTrust: (index, shared) =>
      index === 0
        ? { isTrusted: (key, id) => !revokedByZero.has(id) && shared.isTrusted(key, id) }
        : shared,
  });
  return { cluster, revokedByZero };
}

Deno.test("swim: a revoked member is forgotten at once and stays out until trusted again", () => {
  const seed = 61;
  const { cluster, revokedByZero } = clusterWithRevocableTrust(4, seed);
  const zero = cluster.nodes[0].engine!;
  const target = cluster.nodes[2];
  cluster.events.length = 0;

  revokedByZero.add(keyId(target.publicKey));
  const forgotten = zero.revalidateTrust(cluster.net.now);
  check(forgotten === 1, seed, `revalidateTrust forgot ${forgotten} members, expected 1`);
  check(cluster.member(0, 2) === null, seed, "the revoked member is still listed");
  cluster.flush(0);
  const removed = cluster.events.filter((e) => e.node === 0 && e.event.type === "removed");
  check(removed.length === 1, seed, "no removed event for the revoked member");
  check(zero.tableSizes().members === 2, seed, "member count did not drop to 2");

  // The others keep gossiping about it and it keeps pinging node 0: node 0 must not re-admit it.
  const start = cluster.net.now;
  cluster.run(start + 60_000);
  check(cluster.member(0, 2) === null, seed, "the revoked member came back without trust");
  check(cluster.sees(1, 2) && cluster.sees(3, 2), seed, "the others lost the member");
  const rejoined = cluster.events.filter((e) =>
    e.node === 0 && "member" in e.event &&
    keyId(e.event.member.publicKey) === keyId(target.publicKey) && e.event.type !== "removed"
  );
  check(rejoined.length === 0, seed, `node 0 reported ${rejoined[0]?.event.type} for it`);

  revokedByZero.clear();
  zero.revalidateTrust(cluster.net.now);
  cluster.flush(0);
  const back = cluster.runUntil(() => cluster.sees(0, 2) && cluster.sees(2, 0), start + 180_000);
  check(back !== null, seed, "the member did not come back after trust was restored");
});

Deno.test("swim: trust restored soon after a revoke works at once (our counters did not restart)", () => {
  const seed = 62;
  const { cluster, revokedByZero } = clusterWithRevocableTrust(2, seed);
  const zero = cluster.nodes[0].engine!;
  revokedByZero.add(keyId(cluster.nodes[1].publicKey));
  zero.revalidateTrust(cluster.net.now);
  cluster.flush(0);
  cluster.run(cluster.net.now + 2_000);
  revokedByZero.clear();
  zero.revalidateTrust(cluster.net.now);
  const start = cluster.net.now;
  // The other side still holds its replay window for us: fresh counters would look replayed
  // and keep node 0 suspecting its peer until the counters caught up.
  const at = cluster.runUntil(() => cluster.sees(0, 1) && cluster.sees(1, 0), start + 20_000);
  check(at !== null, seed, "the pair did not recover within 20 s of trust being restored");
  cluster.run(cluster.net.now + 10_000);
  check(cluster.sees(0, 1) && cluster.sees(1, 0), seed, "the pair did not stay alive");
  const replays = cluster.nodes[1].engine!.stats.dropped["replay"] ?? 0;
  check(replays <= 2, seed, `${replays} of node 0's messages were dropped as replays`);
});
