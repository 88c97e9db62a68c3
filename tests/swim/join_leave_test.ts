/** Joining when the seed is not up yet (retry with backoff), and graceful leave. */

import { check, convergedCluster } from "./helpers.ts";
import { Cluster } from "./sim/cluster.ts";

Deno.test("swim: seeds are retried with backoff until one answers", () => {
  const seed = 51;
  const cluster = new Cluster({ n: 4, seed });
  // Everyone points at node 0, which only comes up 20 s later.
  for (let i = 1; i < 4; i++) cluster.start(i, [0]);
  cluster.run(20_000);
  const hellos = cluster.nodes[1].engine!.stats.sent;
  check(hellos >= 3, seed, `only ${hellos} join attempts in 20 s`);
  check(hellos <= 12, seed, `${hellos} join attempts in 20 s: no backoff`);
  cluster.start(0);
  const at = cluster.runUntil(() => cluster.converged(), 120_000);
  check(at !== null, seed, "nodes never joined the late seed");
  const connected = cluster.events.filter((e) => e.event.type === "connected");
  check(connected.length >= 4, seed, "not every node reported connected");
});

Deno.test("swim: a seed that comes up after the others met through another seed is joined", () => {
  const seed = 53;
  const cluster = new Cluster({ n: 3, seed });
  // As in the soak: node 2 reaches node 1 (also a seed) first and is connected before node 0,
  // the first seed, is up; nobody would contact node 0 again.
  cluster.start(1, [0]);
  cluster.start(2, [0, 1]);
  cluster.run(2_000);
  check(cluster.sees(1, 2) && cluster.sees(2, 1), seed, "nodes 1 and 2 did not meet");
  cluster.start(0);
  const at = cluster.runUntil(() => cluster.converged(), 60_000);
  check(at !== null, seed, "the late first seed stayed alone");
});

Deno.test("swim: a graceful leave is seen as left (not dead) everywhere, fast", () => {
  const seed = 52;
  const cluster = convergedCluster({ n: 10, seed });
  const leaver = 6;
  const start = cluster.net.now;
  cluster.nodes[leaver].engine!.leave(start);
  cluster.flush(leaver);
  cluster.run(start + 2_000);
  cluster.crash(leaver);
  const others = cluster.running();
  const at = cluster.runUntil(
    () => others.every((i) => cluster.sees(i, leaver, "left")),
    start + 10_000,
  );
  check(at !== null, seed, "leave not seen everywhere within 10 s");
  const deaths = cluster.events.filter((e) => e.event.type === "dead");
  check(deaths.length === 0, seed, "a leaving member was declared dead");
  cluster.run(cluster.net.now + 60_000);
  check(others.every((i) => cluster.member(i, leaver) === null), seed, "left member not removed");
});
