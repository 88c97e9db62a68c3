/**
 * Soak under faults: 24 `meshguard up` daemons (`--workers 1` each, to spare two cores) in network
 * namespaces on one bridge for over five minutes, through a sequence of faults, each followed by a
 * bounded convergence check (every live node lists every other live node alive with a WireGuard
 * handshake, and pings over mesh addresses are answered):
 *
 *   formation → quiet minute → kill -9 of three nodes (one restarted at once, two after they were
 *   declared dead) → `down` of three nodes and restart → partition 1–12 | 13–24 and heal →
 *   5 % loss on every node for a minute → quiet minute.
 *
 * Throughout, no node may be removed (dead, left, tunnel removed, forgotten) by anyone while it is
 * reachable: logs and statuses are checked against what each fault excuses. RSS and CPU of each
 * daemon are sampled from /proc and must stay flat (bounds in helpers/soak_report.ts). The figures
 * are printed at the end, also after a failure. Everything the run creates is removed in `finally`.
 */

import { assertEquals, assertTrue } from "../assert.ts";
import { MeshLab, meshSkipReason } from "../mesh/helpers/mesh_lab.ts";
import { allPairs, ANY_HANDSHAKE, crossPairs, type HandshakeSince } from "./helpers/mesh_probe.ts";
import { NetFaults, nftMissing } from "./helpers/net_faults.ts";
import { spread } from "./helpers/process_sampler.ts";
import { boundViolations, firstMinuteRate, formatReport } from "./helpers/soak_report.ts";
import { PING_TIMEOUT_MS, secondsSince, SoakRun } from "./helpers/soak_run.ts";

const NODES = 24;
const ALL = Array.from({ length: NODES }, (_, i) => i + 1);
/** kill -9 (never a seed): the first is restarted at once, the others after detection. */
const KILLED = [5, 14, 21];
const DOWNED = [8, 17, 24];
const LEFT = ALL.filter((k) => k <= NODES / 2);
const RIGHT = ALL.filter((k) => k > NODES / 2);
const LOSS_PERCENT = 5;
/** How long the loss is held (the mesh must stay whole through it; it also makes the run ≥ 5 min). */
const LOSS_MS = 100_000;
/** The quiet minutes whose CPU rates are compared. */
const STEADY_MS = 60_000;
/** Daemons started at once while forming (24 Deno start-ups at once would starve two cores). */
const START_BATCH = 3;
/** Dropping killed or downed nodes: seconds in SWIM lan; this is the ceiling. */
const DETECT_TIMEOUT_MS = 90_000;
/**
 * Each side of a 12 | 12 partition dropping the other: every observer must fail its own probe
 * of each of 12 members (others' claims only make it probe sooner, four at a time), and
 * Lifeguard takes half its probes failing for ill health of its own, stretching its probe
 * period up to 8× (a round of 23 then takes up to ~3 min). The in-process simulator, without
 * load, takes 27–60 s over 20 seeds; 24 daemons on two cores took 33–86 s in CI, and once over
 * 90 s.
 */
const PARTITION_DETECT_TIMEOUT_MS = 180_000;
/** The whole run's ceiling (the CI budget for this suite is about nine minutes). */
const RUN_BUDGET_MS = 10 * 60_000;

const skip = await meshSkipReason() ??
  (await nftMissing() ? "soak suite skipped: 'nft' is missing (apt install nftables)" : null);
if (skip) console.log(skip.replace("mesh suite", "soak suite"));

Deno.test({
  name: `soak: ${NODES} daemons through kill -9, down, partition and ${LOSS_PERCENT} % loss`,
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const runStarted = performance.now();
    const lab = new MeshLab({ nodes: NODES, trusts: () => false });
    const faults = new NetFaults(lab);
    const run = new SoakRun(lab);
    try {
      const steps: [string, number, () => Promise<void>][] = [
        [
          "1. 24 namespaces, identities and full trust; daemons start and form a mesh",
          240_000,
          async () => {
            await run.build();
            const started = performance.now();
            // Each batch joins before the next starts: start-ups are the CPU-heaviest moment.
            for (let i = 0; i < ALL.length; i += START_BATCH) {
              await run.start(ALL.slice(i, i + START_BATCH));
              await run.converge(
                started,
                `nodes 1–${run.liveNodes().length} to list each other alive`,
              );
            }
            const converged = await run.converge(started, "all 24 nodes");
            await run.probe.pingPairs(allPairs(ALL), PING_TIMEOUT_MS);
            await lab.waitFor(
              () => run.probe.converged(ALL, ANY_HANDSHAKE),
              30_000,
              "a handshake on every pair",
            );
            run.timings.push({
              fault: "formation (24 daemons)",
              detectedS: null,
              ...converged,
              pingedS: secondsSince(started),
              notes: "276 pairs pinged" +
                (run.probe.ipv4Collisions.length > 0
                  ? `; mesh IPv4 collision between nodes ${run.probe.ipv4Collisions} (pinged over IPv6)`
                  : ""),
            });
            await run.checkRemovals();
          },
        ],
        ["2. a quiet minute (baseline for RSS and CPU)", STEADY_MS + 60_000, async () => {
          await run.sampleAll("start");
          await run.soak(STEADY_MS);
          await run.sampleAll("firstMinuteEnd");
        }],
        [
          `3. kill -9 nodes ${KILLED}; node${
            KILLED[0]
          } restarted at once, the rest after detection`,
          240_000,
          async () => {
            const since = Date.now();
            const closeExcuse = run.watch.excuse("kill -9", "all", KILLED);
            const killed = performance.now();
            for (const k of KILLED) await run.crash(k);
            const [quick, ...slow] = KILLED;
            await run.start([quick]);
            await lab.waitFor(
              () => run.probe.allGone(run.liveNodes(), slow),
              DETECT_TIMEOUT_MS,
              `nodes ${slow} to be dropped`,
            );
            const detectedS = secondsSince(killed);
            const timing = await run.restartAndConverge(KILLED, `kill -9 ${KILLED}`, () => {
              const counts = run.watch.countsSince(since);
              return `removals seen: ${counts.dead} dead, ${
                counts["tunnel removed"]
              } tunnels removed`;
            });
            closeExcuse();
            run.timings.push({ ...timing, detectedS });
            await run.checkRemovals();
          },
        ],
        [`4. down nodes ${DOWNED}: they leave; restarted, they rejoin`, 180_000, async () => {
          const since = Date.now();
          const closeSubjects = run.watch.excuse("down (subjects)", "all", DOWNED);
          const closeOwn = run.watch.excuse("down (own shutdown)", DOWNED, "all");
          const downed = performance.now();
          await Promise.all(DOWNED.map(async (k) => {
            const node = lab.node(k);
            const result = await lab.cli("down", "--control", node.controlPath);
            assertEquals(result.code, 0, `meshguard down on node${k}: ${result.stderr}`);
            const status = await node.daemon!.waitForExit(15_000);
            assertTrue(status !== null, `node${k}'s daemon still runs 15 s after down`);
            assertEquals(status!.code, 0, `node${k}'s exit code after down`);
            run.stopped(k);
          }));
          await lab.waitFor(
            () => run.probe.allGone(run.liveNodes(), DOWNED),
            DETECT_TIMEOUT_MS,
            `nodes ${DOWNED} to be gone`,
          );
          const detectedS = secondsSince(downed);
          closeOwn();
          const timing = await run.restartAndConverge(DOWNED, `down ${DOWNED}`, () => {
            const counts = run.watch.countsSince(since);
            return `${counts.left} (observer, node) pairs left, ${counts.dead} dead, ` +
              `${counts["tunnel removed"]} tunnels removed`;
          });
          closeSubjects();
          run.timings.push({ ...timing, detectedS });
          await run.checkRemovals();
          // A leave is announced: nobody may have had to find out by declaring them dead.
          const counts = run.watch.countsSince(since);
          assertEquals(counts.dead, 0, `${counts.dead} observers saw a downed node as dead`);
          assertTrue(counts.left > 0, "nobody saw the downed nodes leave");
        }],
        ["5. partition 1–12 | 13–24, then heal", 390_000, async () => {
          const side = (k: number) => k <= NODES / 2;
          const closeExcuse = run.watch.excuse(
            "partition",
            "all",
            "all",
            (a, b) => side(a) !== side(b),
          );
          const since = Date.now();
          const cut = performance.now();
          await faults.partition(LEFT, RIGHT);
          await lab.waitFor(
            async () =>
              (await run.probe.allGone(LEFT, RIGHT)) && await run.probe.allGone(RIGHT, LEFT),
            PARTITION_DETECT_TIMEOUT_MS,
            "each side to drop the other",
          );
          const detectedS = secondsSince(cut);
          // Each side stays whole on its own (nobody on the same side may be dropped).
          await lab.waitFor(() => run.probe.converged(LEFT), 30_000, "the left side whole");
          await lab.waitFor(() => run.probe.converged(RIGHT), 30_000, "the right side whole");
          await run.checkRemovals();
          const healedAt = Date.now();
          const healed = performance.now();
          await faults.heal();
          const handshakes: HandshakeSince = (a, b) => side(a) !== side(b) ? healedAt : 0;
          const converged = await run.converge(healed, "the two sides to merge", handshakes);
          await run.probe.pingPairs(crossPairs(LEFT, RIGHT), PING_TIMEOUT_MS);
          const pingedS = secondsSince(healed);
          closeExcuse();
          const counts = run.watch.countsSince(since);
          run.timings.push({
            fault: "partition 1–12 | 13–24 and heal",
            detectedS,
            ...converged,
            pingedS,
            notes: `dropped across: ${counts.dead} (observer, node) pairs dead, ` +
              `${counts["tunnel removed"]} tunnels removed; 144 pairs pinged`,
          });
          await run.checkRemovals();
        }],
        [
          `6. ${LOSS_PERCENT} % loss on every node for ${LOSS_MS / 1000} s: nobody is dropped`,
          240_000,
          async () => {
            const since = Date.now();
            await faults.loss(ALL, LOSS_PERCENT);
            const lossStarted = performance.now();
            await run.soak(LOSS_MS);
            // Still under loss: every node sees every other alive (suspicions have been refuted).
            await lab.waitFor(
              () => run.probe.converged(run.liveNodes()),
              60_000,
              "the mesh whole under loss",
            );
            const underLossS = secondsSince(lossStarted);
            let drops = 0;
            for (const k of ALL) drops += await faults.lossDrops(k);
            const cleared = performance.now();
            await faults.clearLoss();
            const converged = await run.converge(cleared, "the mesh after the loss", ANY_HANDSHAKE);
            await run.probe.pingPairs(ALL.map((k) => [k, k % NODES + 1]), PING_TIMEOUT_MS);
            run.timings.push({
              fault: `${LOSS_PERCENT} % loss for ${LOSS_MS / 1000} s`,
              detectedS: null,
              ...converged,
              pingedS: secondsSince(cleared),
              notes:
                `${drops} packets dropped; ${
                  run.watch.suspicionsSince(since)
                } suspicions logged; ` +
                `whole under loss at ${underLossS.toFixed(1)} s`,
            });
            await run.checkRemovals();
          },
        ],
        [
          "7. a quiet last minute; every pair still pings; resources stayed flat",
          STEADY_MS + 120_000,
          async () => {
            await run.sampleAll("lastMinuteStart");
            await run.soak(STEADY_MS);
            await run.sampleAll("end");
            await run.probe.pingPairs(allPairs(ALL), PING_TIMEOUT_MS);
            await run.checkRemovals();
            const survivors = [...run.samples.values()].filter((s) => !s.restarted);
            const median = spread(survivors.flatMap((s) => firstMinuteRate(s) ?? [])).median;
            const problems = boundViolations([...run.samples.values()], median);
            assertEquals(problems.length, 0, `resources grew:\n  ${problems.join("\n  ")}`);
          },
        ],
      ];
      for (const [name, budget, fn] of steps) {
        const remaining = RUN_BUDGET_MS - (performance.now() - runStarted);
        if (!(await run.step(t, name, Math.min(budget, Math.max(remaining, 1_000)), fn))) break;
      }
    } finally {
      await faults.clearAll();
      const leftovers = await lab.dispose();
      if (leftovers.length > 0) console.log(`  dispose removed what daemons left: ${leftovers}`);
      console.log(`\nsoak report (${secondsSince(runStarted).toFixed(0)} s in all):`);
      console.log(formatReport([...run.samples.values()], run.timings));
    }
    assertEquals(await lab.remainingNamespaces(), [], "namespaces left behind");
  },
});
