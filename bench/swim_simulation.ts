/**
 * `deno task bench:swim`: simulates N = 100, 1,000 and 5,000 members (WAN profile, 1% loss,
 * 20–50 ms one-way delay) and prints per N:
 *   swim N=1000: join-all N.N s, detect-all N.N s, false-dead N, bytes/node/s N
 * join-all: a new node joins through one seed; time until every member lists it alive.
 * detect-all: a member crashes (once the joiner holds every record); time until every other
 *   member has declared it dead.
 * false-dead: dead declarations about live members during one simulated hour at 5% loss.
 * bytes/node/s: mean SWIM bytes sent per member per second in steady state (1% loss).
 * The cluster starts pre-converged (every node holds every record), as after a long run; the
 * insecure fast crypto stand-in replaces X25519/Ed25519 so 5,000 nodes fit in minutes.
 * Memory: every node lists every member; one it never talked to is a cold MemberTable entry
 * (COLD_PAIR_BYTES), one it talks to costs TALKED_PAIR_BYTES more (its Member and
 * SessionTable slot), and by the end of the hour a node has talked to ~1,850 (N=5,000). An N whose
 * whole run would not fit this run's heap limit runs the phases that fit: without the loss
 * hour (its line says "false-dead n/a"), as `bench:swim 10000` does under the task's cap; an
 * N that does not fit even so is refused in one line before anything starts. The task caps
 * the heap at 6 GB and lets it grow 15% past the live set between full collections (V8's
 * default let peak RSS reach ~3.5× the live heap at N=1,000; 25% left the default run's peak
 * at 4,009,824 KiB, just over 4 GB, and 15% cost no measurable time), and a young semi-space
 * at 32 MB (64 was ~10% slower and 160 MB larger at N=5,000, 16 slower).
 * Each N runs in turn, split over `--threads=K` partitions (default 2; tests/swim/sim/partition.ts):
 * worker threads that exchange the datagrams crossing between them every 20 ms of simulated time,
 * on a keyed network, so its line is the same for any K. Cost on the idle 2-core machine, the
 * default run: 893 s wall (14.9 min), 1,544 s CPU, peak RSS 3,842,560 KiB (3.93 GB); N=5,000's
 * hour simulates 40.2 M datagrams over 195,940 windows, its partitions wait 385 s in all at the
 * barriers, and its heap ends at 1.8 GB + 1.3 GB of typed columns. Commit 1b80491 (tidy walking
 * the listed array, 25% growth) took 884 s, 1,519 s CPU and 4,009,824 KiB; two sessions before
 * (N=100 and 1,000 on a third thread, 96-byte sessions with cached keys, 64 MB semi-spaces)
 * 1,073 s, 1,790 s and 4.79 GB.
 * Usage: deno task bench:swim [--loss-minutes=M] [--threads=K] [N...]
 *   (defaults: 60 minutes, 2 threads; 100 1000 5000)
 */

import { getHeapStatistics } from "node:v8";
import { PartitionedRun } from "../tests/swim/sim/partitioned_run.ts";

const SEED = 42;
const WARMUP_MS = 30_000;
const STEADY_MS = 120_000;
const HOUR_MS = 3_600_000;
/**
 * Heap a member costs a node that never talked to it: its listed entry, probe-round entry,
 * join time and key-index slot (58 B a pair measured at N=1,000 pre-converged, after GC,
 * fixed costs included).
 */
const COLD_PAIR_BYTES = 50;
/** Members a node has talked to before the loss hour (steady state, join, crash). */
const TALKED_BEFORE_HOUR = 300;
/** Members a node has talked to by the end of the hour at 5% loss (probes both ways, helpers). */
const TALKED_AFTER_HOUR = 1_850;
/**
 * Heap of a member a node talks to on top of its cold entry: its Member and SessionTable
 * slot. 396 B measured at N=1,000 after the hour before `tidy` let idle Members go; ~145 B
 * since (197.4 MB after GC, 959 talked per node, against 58.6 MB pre-converged). Kept: with
 * V8's slack between collections the estimate stays above the whole run's peak (N=5,000:
 * ~4.9 GB estimated, 3.93 GB peak RSS measured), which is what the skip decision needs.
 */
const TALKED_PAIR_BYTES = 400;

/** One N's line; `skipped` (not "") says why the loss hour was left out. */
async function measure(
  n: number,
  seed: number,
  hourMs: number,
  skipped: string,
  partitions = 1,
): Promise<string> {
  const wall = performance.now();
  const phase = (name: string) =>
    console.error(`  N=${n} ${name} at ${((performance.now() - wall) / 1000).toFixed(0)} s wall`);
  // Node n is the joiner; it is built with the others but started later.
  const run = await PartitionedRun.create({ n: n + 1, seed, profile: "wan", partitions });
  try {
    await run.setLink({ loss: 0.01, latency: 20, jitter: 30 });
    await run.start([...Array(n).keys()]);
    await run.preconverge();
    phase("pre-converged");
    await run.run(WARMUP_MS);
    const bytesBefore = (await run.stats()).bytes;
    await run.run(WARMUP_MS + STEADY_MS);
    const bytesPerNode = ((await run.stats()).bytes - bytesBefore) / n / (STEADY_MS / 1000);

    phase("steady state measured");
    const joinedAt = run.now;
    await run.start([n], [0]);
    const joinDone = await run.runUntil(
      { kind: "all-see-alive", subject: n, among: n },
      joinedAt + 600_000,
      250,
    );
    const joinAll = joinDone === null ? Infinity : (joinDone - joinedAt) / 1000;
    // The crash waits for the joiner's full sync (sequential pages, one round trip each: 75 s at
    // N=5,000 over this WAN): a member it has no record of yet ignores the suspicion claims about
    // it, so crashing earlier measured whether the victim's page won that race (88 s or 160 s).
    const synced = await run.runUntil(
      { kind: "holds", node: n, members: n },
      joinedAt + 600_000,
      250,
    );
    phase(
      `joiner synced after ${
        synced === null ? "never" : ((synced - joinedAt) / 1000).toFixed(1)
      } s simulated`,
    );

    const victim = 1 + Math.floor((await run.random()) * (n - 1));
    const crashedAt = run.now;
    await run.crash(victim);
    const detectDone = await run.runUntil(
      { kind: "none-see-live", subject: victim },
      crashedAt + 900_000,
      250,
    );
    const detectAll = detectDone === null ? Infinity : (detectDone - crashedAt) / 1000;

    phase("join and crash measured");
    // One hour at 5% loss; count dead declarations about members that are up (from here only).
    await run.watchDead(victim);
    await run.setLink({ loss: 0.05, latency: 20, jitter: 30 });
    const hourStart = run.now;
    if (hourMs > 0) await run.run(hourStart + hourMs);
    const seconds = ((performance.now() - wall) / 1000).toFixed(0);
    const stats = await run.stats();
    console.error(
      `  (N=${n}: ${stats.datagrams} datagrams simulated in ${seconds} s wall on ${partitions} ` +
        `thread(s)${
          partitions > 1
            ? ` (${stats.windows} windows, ${(stats.waitedMs / 1000).toFixed(0)} s waited in all)`
            : ""
        }; each node talked to ${Math.round(stats.talked / stats.up)} members; heap ` +
        `${gb(stats.heapUsed)} GB + ${gb(stats.external)} GB external, not collected)`,
    );
    return `swim N=${n}: join-all ${joinAll.toFixed(1)} s, detect-all ${detectAll.toFixed(1)} s, ` +
      `false-dead ${skipped === "" ? stats.falseDead : `n/a (${skipped})`}, ` +
      `bytes/node/s ${Math.round(bytesPerNode)}`;
  } finally {
    run.close();
  }
}

/**
 * Live heap of one N at its end: every node lists every member (a cold entry) and talks to
 * some of them (Member, session slot): more the longer the loss period runs.
 */
function heapNeeded(n: number, lossMs: number): number {
  const talked = TALKED_BEFORE_HOUR +
    (TALKED_AFTER_HOUR - TALKED_BEFORE_HOUR) * Math.min(1, lossMs / HOUR_MS);
  return n * n * COLD_PAIR_BYTES + n * Math.min(n, talked) * TALKED_PAIR_BYTES;
}

function gb(bytes: number): string {
  return (bytes / 1e9).toFixed(1);
}

/** One N to run: its loss period, and why the hour was left out ("" when it was not). */
interface SwimPlan {
  n: number;
  lossMs: number;
  skipped: string;
}

/**
 * Runs the plans one after another, each split over `partitions` threads (a line does not
 * depend on how many), and prints each line as it comes. One N at a time: a smaller N on a
 * third thread beside the partitions (as before) took a core from one of them for its whole
 * run, and each partition's stalls held the other up at every window's barrier.
 */
async function runPlans(plans: SwimPlan[], partitions: number): Promise<void> {
  for (const plan of plans) {
    console.log(await measure(plan.n, SEED, plan.lossMs, plan.skipped, partitions));
  }
}

if (import.meta.main) {
  // `--loss-minutes=M` shortens the 5%-loss hour (for quick looks; the report uses the hour).
  const minutes = Deno.args.find((a) => a.startsWith("--loss-minutes="));
  const hourMs = minutes ? Number(minutes.split("=")[1]) * 60_000 : HOUR_MS;
  // `--threads=K`: partitions of each N (default 2, one per core of the bench machine).
  const threads = Deno.args.find((a) => a.startsWith("--threads="));
  const partitions = threads ? Number(threads.split("=")[1]) : 2;
  if (!(Number.isInteger(partitions) && partitions >= 1 && partitions <= 16)) {
    console.error(`bench:swim: --threads must be an integer in 1..16, got ${threads}`);
    Deno.exit(2);
  }
  const numbers = Deno.args.filter((a) => !a.startsWith("--")).map(Number);
  const sizes = numbers.length > 0 ? numbers : [100, 1000, 5000];
  // The limit applies per thread, but it also bounds the whole run here: a run that needs more
  // (N=10,000's hour, ~12 GB) would not fit this machine's memory beside anything else.
  const limit = getHeapStatistics().heap_size_limit;
  const plans: SwimPlan[] = [];
  for (const n of sizes) {
    if (!(Number.isInteger(n) && n >= 2)) {
      console.error(`bench:swim: N must be an integer ≥ 2, got ${n}`);
      Deno.exit(2);
    }
    if (heapNeeded(n, hourMs) <= limit) {
      plans.push({ n, lossMs: hourMs, skipped: "" });
    } else if (heapNeeded(n, 0) <= limit) {
      plans.push({
        n,
        lossMs: 0,
        skipped: `loss hour skipped: needs ~${gb(heapNeeded(n, hourMs))} GB of heap`,
      });
    } else {
      console.error(
        `bench:swim: N=${n} needs ~${gb(heapNeeded(n, 0))} GB of heap even without the loss ` +
          `hour, over this run's ${gb(limit)} GB (--v8-flags=--max-old-space-size=MB raises it, ` +
          `if the machine has the memory)`,
      );
      Deno.exit(2);
    }
  }
  await runPlans(plans, partitions);
}
