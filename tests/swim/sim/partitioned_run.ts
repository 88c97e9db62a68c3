/**
 * A simulation split into partitions, each a worker thread that runs a share of the hosts
 * (partition.ts), driven from here by commands. The network is keyed (per-sender loss
 * streams, thread-independent event order), so the outcome is the same for any number of
 * partitions, one included (which runs in this thread, with no worker): more partitions only
 * use more cores. Used by `bench:swim`; the SWIM tests use Cluster directly.
 */

import type { SwimProfileName } from "../../../lib/swim/profiles.ts";
import type { LinkProfile } from "./network.ts";
import {
  type Check,
  Partition,
  type PartitionCommand,
  type PartitionSetup,
  type PartitionStats,
} from "./partition.ts";
import { type ExchangeBuffers, exchangeBuffers, failExchange } from "./partition_exchange.ts";
import type { PartitionStart } from "./partition_worker.ts";

/** How to build a partitioned run. */
export interface PartitionedRunOptions {
  /** Hosts (all start stopped). */
  n: number;
  /** The run's seed. */
  seed: number;
  /** Engine profile. */
  profile: SwimProfileName;
  /** Threads to split the hosts over (1: this thread). */
  partitions: number;
}

/** Every partition's counters added up (windows: per partition, the same in each). */
export type RunStats = PartitionStats;

type Reply = { ok: true; value: unknown } | { ok: false; error: string };

/** A partition behind a worker, one command at a time. */
class PartitionThread {
  readonly #worker: Worker;
  #pending: ((reply: Reply) => void) | null = null;

  constructor(start: PartitionStart) {
    this.#worker = new Worker(new URL("./partition_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (event: MessageEvent<Reply>) => this.#settle(event.data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#settle({ ok: false, error: event.message });
    };
    this.#worker.postMessage(start);
  }

  /** Resolves with the worker's first reply (its partition is built). */
  ready(): Promise<unknown> {
    return this.#await();
  }

  send(command: PartitionCommand): Promise<unknown> {
    const reply = this.#await();
    this.#worker.postMessage(command);
    return reply;
  }

  close(): void {
    this.#worker.terminate();
  }

  #await(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#pending = (reply) => reply.ok ? resolve(reply.value) : reject(new Error(reply.error));
    });
  }

  #settle(reply: Reply): void {
    const pending = this.#pending;
    this.#pending = null;
    pending?.(reply);
  }
}

/** The coordinator's view of a partitioned run. */
export class PartitionedRun {
  readonly #local: Partition | null;
  readonly #threads: PartitionThread[];
  readonly #buffers: ExchangeBuffers | null;
  #now = 0;

  private constructor(
    local: Partition | null,
    threads: PartitionThread[],
    buffers: ExchangeBuffers | null,
  ) {
    this.#local = local;
    this.#threads = threads;
    this.#buffers = buffers;
  }

  /** Builds the partitions (workers when more than one). */
  static async create(options: PartitionedRunOptions): Promise<PartitionedRun> {
    const count = options.partitions;
    if (!(Number.isInteger(count) && count >= 1 && count <= options.n)) {
      throw new RangeError(`partitions must be an integer in 1..${options.n}, got ${count}`);
    }
    const setup: PartitionSetup = {
      n: options.n,
      seed: options.seed,
      profile: options.profile,
      count,
      buffers: count > 1 ? exchangeBuffers(count) : null,
    };
    if (count === 1) return new PartitionedRun(new Partition(setup, 0), [], null);
    const threads: PartitionThread[] = [];
    for (let index = 0; index < count; index++) {
      threads.push(new PartitionThread({ setup, index }));
    }
    const run = new PartitionedRun(null, threads, setup.buffers);
    try {
      await Promise.all(threads.map((thread) => thread.ready()));
    } catch (error) {
      run.close();
      throw error;
    }
    return run;
  }

  /** Virtual now (ms). */
  get now(): number {
    return this.#now;
  }

  /** Starts `nodes` now, joining through `seeds`. */
  start(nodes: number[], seeds: number[] = []): Promise<void> {
    return this.#all({ op: "start", nodes, seeds }).then(() => {});
  }

  /** Gives every running host every other's record (Cluster.preconverge). */
  preconverge(): Promise<void> {
    return this.#all({ op: "preconverge" }).then(() => {});
  }

  /** Sets the link profile of every partition's network. */
  setLink(link: LinkProfile): Promise<void> {
    return this.#all({ op: "link", link }).then(() => {});
  }

  /** Runs until `until` (ms). */
  async run(until: number): Promise<void> {
    await this.#all({ op: "run", until });
    this.#now = Math.max(this.#now, until);
  }

  /** Crashes host `node`. */
  crash(node: number): Promise<void> {
    return this.#all({ op: "crash", node }).then(() => {});
  }

  /** The run's own random stream (Cluster.random: the same numbers in every partition). */
  async random(): Promise<number> {
    const values = await this.#all({ op: "random" });
    return values[0] as number;
  }

  /** Counts dead declarations about running hosts other than `victim` from now on. */
  watchDead(victim: number): Promise<void> {
    return this.#all({ op: "watch-dead", victim }).then(() => {});
  }

  /** True when `check` holds in every partition. */
  async holds(check: Check): Promise<boolean> {
    const answers = await this.#all({ op: "check", check });
    return answers.every((answer) => answer === true);
  }

  /** Advances in `step` ms slices until `check` holds or `limit`; the time it held, or null. */
  async runUntil(check: Check, limit: number, step: number): Promise<number | null> {
    while (this.#now < limit) {
      if (await this.holds(check)) return this.#now;
      await this.run(Math.min(limit, this.#now + step));
    }
    return await this.holds(check) ? this.#now : null;
  }

  /** Counters summed over the partitions; heap figures summed too (threads have their own). */
  async stats(): Promise<RunStats> {
    const all = (await this.#all({ op: "stats" })) as PartitionStats[];
    const sum = (pick: (stats: PartitionStats) => number) =>
      all.reduce((total, stats) => total + pick(stats), 0);
    return {
      datagrams: sum((s) => s.datagrams),
      bytes: sum((s) => s.bytes),
      up: sum((s) => s.up),
      talked: sum((s) => s.talked),
      falseDead: sum((s) => s.falseDead),
      windows: all[0].windows,
      waitedMs: sum((s) => s.waitedMs),
      heapUsed: sum((s) => s.heapUsed),
      external: sum((s) => s.external),
    };
  }

  /**
   * Every running host's view (its members' states and versions), by host index: what a test
   * compares between runs split differently.
   */
  async views(): Promise<Map<number, string>> {
    const all = (await this.#all({ op: "views" })) as [number, string][][];
    return new Map(all.flat().sort((a, b) => a[0] - b[0]));
  }

  /** Ends the workers. */
  close(): void {
    for (const thread of this.#threads) thread.close();
  }

  async #all(command: PartitionCommand): Promise<unknown[]> {
    if (this.#local !== null) return [this.#local.handle(command)];
    try {
      return await Promise.all(this.#threads.map((thread) => thread.send(command)));
    } catch (error) {
      // A worker that died cannot release the others from their barrier: do it for it.
      if (this.#buffers !== null) failExchange(this.#buffers);
      throw error;
    }
  }
}
