/** Revoking trust on a running node drops the member at once; trusting again brings it back. */

import { check, convergedCluster } from "./helpers.ts";
import { keyId } from "../../lib/swim/records.ts";

Deno.test("swim: a revoked member is forgotten at once and stays out until trusted again", () => {
  const seed = 61;
  const revokedByZero = new Set<string>();
  const cluster = convergedCluster({
    n: 4,
    seed,
    nodeTrust: (index, shared) =>
      index === 0
        ? { isTrusted: (key, id) => !revokedByZero.has(id) && shared.isTrusted(key, id) }
        : shared,
  });
  const zero = cluster.nodes[0].engine!;
  const target = cluster.nodes[2];
  cluster.events.length = 0;

  revokedByZero.add(keyId(target.publicKey));
  const forgotten = zero.revalidateTrust(cluster.net.now);
  check(forgotten === 1, seed, `revalidateTrust forgot ${forgotten} peers, expected 1`);
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
    e.node === 0 && e.event.type !== "connected" && e.event.type !== "isolated" &&
    keyId(e.event.member.publicKey) === keyId(target.publicKey) && e.event.type !== "removed"
  );
  check(rejoined.length === 0, seed, `node 0 reported ${rejoined[0]?.event.type} for it`);

  revokedByZero.clear();
  zero.revalidateTrust(cluster.net.now);
  cluster.flush(0);
  const back = cluster.runUntil(() => cluster.sees(0, 2) && cluster.sees(2, 0), start + 180_000);
  check(back !== null, seed, "the member did not come back after trust was restored");
});
