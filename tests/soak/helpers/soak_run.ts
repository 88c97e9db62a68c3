/**
 * The soak's harness around a mesh lab: which daemons are live, starting them (`--workers 1`,
 * info logs), waiting for convergence while printing what is still missing, restarts with their
 * own resource baseline, the removal watch, resource samples, fault timings, and time-boxed
 * steps that print every daemon's log tail on failure. The fault sequence itself is the test's.
 */

import { parseEd25519PublicKey } from "../../../lib/identity/ed25519_public_key.ts";
import { addTrusted } from "../../../lib/trust/trust_store.ts";
import { assertEquals } from "../../assert.ts";
import type { MeshLab } from "../../mesh/helpers/mesh_lab.ts";
import { type HandshakeSince, MeshProbe } from "./mesh_probe.ts";
import { sampleProcess } from "./process_sampler.ts";
import { describeViolations, RemovalWatch, violationContext } from "./removal_watch.ts";
import { withDeadline } from "../../mesh/helpers/deadline.ts";
import type { FaultTiming, NodeSamples } from "./soak_report.ts";

/** Seeds every joiner is given (the test never kills them, so a restart always finds one). */
export const SEEDS = [1, 2];
/**
 * One data worker per daemon (24 daemons on two cores), and info logs: the watch reads only info
 * lines, and the lab's debug level (the later flag wins) would log every gossip event.
 */
const DAEMON_ARGS = ["--workers", "1", "--log-level", "info"];
/** Status reads and log scans during the holds. */
const WATCH_INTERVAL_MS = 3_000;
/** SWIM lan joins and detects in seconds; these are hard ceilings, not expectations. */
const SERVE_TIMEOUT_MS = 60_000;
/**
 * Ceiling for a whole mesh after a fault: a hard bound for a loaded 2-core machine, not an
 * expectation. (Before the soak found it, nodes rejoining together skipped their full sync and
 * took 20–45 s; `tests/swim/rejoin_together_test.ts` now holds that to 5 s.)
 */
const CONVERGE_TIMEOUT_MS = 120_000;
/** Pings may retry this long (the first may wait for a handshake). */
export const PING_TIMEOUT_MS = 30_000;
/** While waiting for convergence, what is still missing is printed this often. */
const PROGRESS_INTERVAL_MS = 5_000;

/** Resolves after `ms`: only for the soak's deliberate hold times, never as synchronisation. */
function hold(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds since `since` (a `performance.now()` value). */
export function secondsSince(since: number): number {
  return (performance.now() - since) / 1000;
}

/** Seconds from a fault's end until the mesh was whole (alive), and then had its handshakes. */
export interface Convergence {
  aliveS: number;
  convergedS: number;
}

/** Live set, watch, probe, samples and timings of one soak run. */
export class SoakRun {
  readonly lab: MeshLab;
  readonly timings: FaultTiming[] = [];
  readonly samples = new Map<number, NodeSamples>();
  private readonly live = new Set<number>();
  /** When each node's current daemon was started (wall-clock ms). */
  private readonly startedAt = new Map<number, number>();
  private watchOrNull: RemovalWatch | null = null;
  private probeOrNull: MeshProbe | null = null;

  /** A run over `lab` (built by `build`). */
  constructor(lab: MeshLab) {
    this.lab = lab;
  }

  /** The removal watch (after `build`). */
  get watch(): RemovalWatch {
    if (!this.watchOrNull) throw new Error("the soak lab is not built yet");
    return this.watchOrNull;
  }

  /** The status/ping probe (after `build`). */
  get probe(): MeshProbe {
    if (!this.probeOrNull) throw new Error("the soak lab is not built yet");
    return this.probeOrNull;
  }

  /**
   * Builds the lab and makes every node trust every other one, in-process with the CLI's own
   * `addTrusted` (552 `meshguard trust` runs would cost minutes of CPU on two cores; the mesh
   * suite covers the CLI path).
   */
  async build(): Promise<void> {
    await this.lab.build();
    for (const from of this.lab.nodes) {
      this.samples.set(from.index, { node: from.index, restarted: false });
      for (const to of this.lab.nodes) {
        if (from === to) continue;
        await addTrusted(from.configDir, {
          kind: "peer",
          publicKey: parseEd25519PublicKey(to.publicKey),
          name: to.name,
          nameIsExplicit: true,
          confirmReplace: () => Promise.resolve(false),
        });
      }
    }
    this.watchOrNull = new RemovalWatch(this.lab);
    this.probeOrNull = new MeshProbe(this.lab, this.watchOrNull);
  }

  /** The nodes whose daemon runs, ascending. */
  liveNodes(): number[] {
    return [...this.live].sort((a, b) => a - b);
  }

  /** Takes one resource sample of every live daemon into `field`. */
  async sampleAll(field: keyof Omit<NodeSamples, "node" | "restarted">): Promise<void> {
    for (const k of this.liveNodes()) {
      this.samples.get(k)![field] = await sampleProcess(this.lab.node(k).daemon!.pid);
    }
  }

  /** Reads every live node's status and log now; throws on a removal nobody excused. */
  async checkRemovals(): Promise<void> {
    const failed = await this.probe.observe(this.liveNodes());
    if (failed.length > 0) console.log(`  (status reads that failed: ${failed.join("; ")})`);
    await this.watch.scanLogs();
    const violations = this.watch.violations();
    for (const event of violations.slice(0, 3)) {
      console.error(`removal of a reachable node: ${describeViolations([event])}`);
      console.error(await violationContext(this.lab, event));
    }
    assertEquals(
      violations.length,
      0,
      `reachable nodes were removed:\n${describeViolations(violations)}`,
    );
  }

  /** Holds for `ms`, reading every status and log every few seconds. */
  async soak(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      await this.checkRemovals();
      await hold(Math.min(WATCH_INTERVAL_MS, Math.max(0, until - performance.now())));
    }
    await this.checkRemovals();
  }

  /** Starts the daemons of `nodes` and waits until each answers status. */
  async start(nodes: number[]): Promise<void> {
    for (const k of nodes) {
      this.startedAt.set(k, Date.now());
      const seeds = SEEDS.filter((seed) => seed !== k && (seed < k || this.live.has(seed)));
      await this.lab.start(k, { seeds, extraArgs: DAEMON_ARGS });
      this.watchOrNull?.resetObserver(k);
    }
    await Promise.all(nodes.map((k) =>
      this.lab.waitFor(
        async () => {
          const daemon = this.lab.node(k).daemon!;
          if (daemon.status) throw new Error(`node${k}'s daemon exited (${daemon.status.code})`);
          return await this.probe.status(k);
        },
        SERVE_TIMEOUT_MS,
        `node${k} to answer status`,
        { stopOnError: /daemon exited|Requires .* access/ },
      )
    ));
    for (const k of nodes) this.live.add(k);
  }

  /** SIGKILL for node `k` (a crash); it is no longer live. */
  async crash(k: number): Promise<void> {
    await this.lab.crash(k);
    this.live.delete(k);
  }

  /** Node `k`'s daemon has exited (after `down`); it is no longer live. */
  stopped(k: number): void {
    this.live.delete(k);
  }

  /**
   * Waits for the whole live mesh: everyone alive everywhere (`aliveS`), then, with
   * `handshakes`, a handshake as recent as it asks on every pair (`convergedS`).
   */
  async converge(since: number, what: string, handshakes?: HandshakeSince): Promise<Convergence> {
    const live = this.liveNodes();
    await this.waitLogged(() => this.probe.converged(live), since, `${what} (alive)`);
    const aliveS = secondsSince(since);
    if (handshakes) {
      await this.waitLogged(
        () => this.probe.converged(live, handshakes),
        since,
        `${what} (handshakes)`,
      );
    }
    return { aliveS, convergedS: secondsSince(since) };
  }

  /** lab.waitFor, printing what is still missing every few seconds (where the time goes). */
  waitLogged(probeOnce: () => Promise<true>, since: number, what: string): Promise<true> {
    let lastPrinted = performance.now();
    return this.lab.waitFor(
      async () => {
        try {
          return await probeOnce();
        } catch (error) {
          if (performance.now() - lastPrinted >= PROGRESS_INTERVAL_MS) {
            lastPrinted = performance.now();
            console.log(
              `    ${secondsSince(since).toFixed(1)} s, ${what}: ${(error as Error).message}`,
            );
          }
          throw error;
        }
      },
      CONVERGE_TIMEOUT_MS,
      what,
    );
  }

  /**
   * Starts those of `nodes` that are not running, waits until the mesh is whole with a
   * handshake made after each restarted node's start, pings every restarted node from every
   * other, and takes their resource baselines (a restarted node's own start sample).
   */
  async restartAndConverge(
    nodes: number[],
    fault: string,
    notes: () => string,
  ): Promise<FaultTiming> {
    const restarted = performance.now();
    await this.start(nodes.filter((k) => !this.live.has(k)));
    const startedAt = this.startedAt;
    const handshakes: HandshakeSince = (a, b) =>
      Math.max(startedAt.get(a) ?? 0, startedAt.get(b) ?? 0);
    const converged = await this.converge(restarted, `the mesh to take back ${nodes}`, handshakes);
    const others = this.liveNodes().filter((k) => !nodes.includes(k));
    await this.probe.pingPairs(
      others.flatMap((o) => nodes.map((k) => [o, k] as [number, number])),
      PING_TIMEOUT_MS,
    );
    const pingedS = secondsSince(restarted);
    for (const k of nodes) {
      this.samples.set(k, {
        node: k,
        restarted: true,
        start: await sampleProcess(this.lab.node(k).daemon!.pid),
      });
    }
    await this.watch.scanLogs();
    return { fault, detectedS: null, ...converged, pingedS, notes: notes() };
  }

  /** One `t.step` with a time budget; prints its duration, and every log tail on failure. */
  step(
    t: Deno.TestContext,
    name: string,
    budgetMs: number,
    fn: () => Promise<void>,
  ): Promise<boolean> {
    return t.step(name, async () => {
      const started = performance.now();
      try {
        await withDeadline(fn(), budgetMs, name);
      } catch (error) {
        console.error(`\n${name} failed; daemon logs:\n${await this.lab.logTails(25)}\n`);
        throw error;
      } finally {
        console.log(`  [${name}: ${secondsSince(started).toFixed(1)} s]`);
      }
    });
  }
}
