/** Failure detection: crash detected and disseminated, restart recognised, partition heals. */

import { check, convergedCluster } from "./helpers.ts";

Deno.test("swim: a crashed member is declared dead by every other member", () => {
  const seed = 11;
  const cluster = convergedCluster({ n: 16, seed });
  const victim = 5;
  const crashedAt = cluster.net.now;
  cluster.crash(victim);
  const others = cluster.running();
  const at = cluster.runUntil(
    () =>
      others.every((i) => cluster.sees(i, victim, "dead") || cluster.member(i, victim) === null),
    crashedAt + 120_000,
  );
  check(at !== null, seed, "not every member declared the crashed one dead in 120 s");
  // Nobody else was declared dead along the way.
  const wrong = cluster.events.filter((e) =>
    e.event.type === "dead" && cluster.indexOfKey(e.event.member.publicKey) !== victim
  );
  check(wrong.length === 0, seed, `${wrong.length} live members declared dead`);
  console.log(`detect-all after ${((at! - crashedAt) / 1000).toFixed(1)} s`);
});

Deno.test("swim: a restarted member is recognised (higher epoch) and alive everywhere", () => {
  const seed = 12;
  const cluster = convergedCluster({ n: 12, seed });
  const victim = 3;
  const before = cluster.nodes[0].engine!.member(cluster.nodes[victim].publicKey)!.epoch;
  cluster.crash(victim);
  cluster.run(cluster.net.now + 1_500);
  cluster.restart(victim, [0]);
  const epoch = cluster.nodes[victim].engine!.epoch;
  check(epoch > before, seed, "restart did not raise the epoch");
  const others = cluster.running().filter((i) => i !== victim);
  const at = cluster.runUntil(
    () =>
      others.every((i) => {
        const view = cluster.member(i, victim);
        return view !== null && view.state === "alive" && view.epoch === epoch;
      }) && cluster.nodes[victim].engine!.members("alive").length === others.length,
    cluster.net.now + 60_000,
  );
  check(at !== null, seed, "restarted member not recognised everywhere in 60 s");
  const restartedEvents = cluster.events.filter((e) =>
    (e.event.type === "updated" || e.event.type === "alive") && e.event.restarted &&
    cluster.indexOfKey(e.event.member.publicKey) === victim
  );
  check(restartedEvents.length > 0, seed, "no event reported the restart");
});

Deno.test("swim: a partition heals and both halves see each other alive again", () => {
  const seed = 13;
  const cluster = convergedCluster({ n: 12, seed });
  const half = (address: string) => (cluster.indexOf(address) ?? 0) % 2;
  cluster.net.partition = (from, to) => half(from) !== half(to);
  // Long enough for each side to declare the other dead and remove it.
  cluster.run(cluster.net.now + 90_000);
  check(
    cluster.sees(0, 1, "dead") || cluster.member(0, 1) === null,
    seed,
    "partition was not detected",
  );
  cluster.net.partition = null;
  const at = cluster.runUntil(() => cluster.converged(), cluster.net.now + 120_000);
  check(at !== null, seed, "partition did not heal within 120 s");
});
