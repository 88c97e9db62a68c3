/**
 * Lifeguard earns its keep: with one member on a slow, lossy link (its acks arrive after the
 * plain SWIM timeout) and 5% loss everywhere, the same seeded run produces far fewer false
 * suspicions and no false deaths with Lifeguard on, and more of both with it off.
 */

import { Cluster } from "./sim/cluster.ts";
import { check } from "./helpers.ts";

function falsePositives(lifeguard: boolean, seed: number) {
  const n = 16;
  const cluster = new Cluster({ n, seed, config: { lifeguard } });
  cluster.keepEvents = false;
  cluster.start(0);
  for (let i = 1; i < n; i++) cluster.start(i, [0]);
  cluster.run(5_000);
  if (!cluster.converged()) throw new Error(`seed ${seed}: did not converge`);
  cluster.net.link = { loss: 0.05, latency: 5, jitter: 10 };
  // Node 5 is "sick": 150–650 ms each way and 10% loss, against a 500 ms probe timeout.
  cluster.net.hostLinks.set(cluster.nodes[5].address, { loss: 0.1, latency: 150, jitter: 500 });
  // Count accusations of the healthy members (the slow one is slow: suspecting it is fair,
  // declaring it dead is not) and every death (all members stay up).
  let suspect = 0;
  let dead = 0;
  cluster.onEvent = ({ event }) => {
    if (event.type === "suspect" && cluster.indexOfKey(event.member.publicKey) !== 5) suspect++;
    if (event.type === "dead") dead++;
  };
  cluster.run(cluster.net.now + 600_000);
  return { suspect, dead };
}

Deno.test("swim: Lifeguard cuts false positives under loss and a slow member (same seed)", () => {
  const seed = 41;
  const on = falsePositives(true, seed);
  const off = falsePositives(false, seed);
  console.log(
    `10 min, 16 nodes, 5% loss, one slow node: Lifeguard on ${JSON.stringify(on)}, off ${
      JSON.stringify(off)
    }`,
  );
  check(on.dead === 0, seed, `Lifeguard on: ${on.dead} live members declared dead`);
  check(on.suspect * 2 <= off.suspect, seed, `on ${on.suspect} vs off ${off.suspect} suspicions`);
});
