/**
 * One partition of a partitioned simulation: a keyed Cluster that runs the hosts
 * `i % count === index`, exchanges the datagrams they send across partitions once per
 * window of one lookahead (the link's fixed latency: nothing sent in a window can land in
 * it), and answers the coordinator's commands (partitioned_run.ts) about its own hosts.
 */

import type { SwimProfileName } from "../../../lib/swim/profiles.ts";
import { Cluster } from "./cluster.ts";
import type { LinkProfile } from "./network.ts";
import { type ExchangeBuffers, PartitionExchange } from "./partition_exchange.ts";

/** What every partition of a run is built from. */
export interface PartitionSetup {
  /** Hosts in the whole run. */
  n: number;
  /** The run's seed. */
  seed: number;
  /** Engine profile. */
  profile: SwimProfileName;
  /** Number of partitions. */
  count: number;
  /** Shared buffers (null with one partition). */
  buffers: ExchangeBuffers | null;
}

/** A condition the coordinator polls; every partition answers for its own hosts. */
export type Check =
  /** Every running host below `among` other than `subject` lists `subject` alive. */
  | { kind: "all-see-alive"; subject: number; among: number }
  /** No running host other than `subject` lists it alive or suspect. */
  | { kind: "none-see-live"; subject: number }
  /** Host `node` holds at least `members` members. */
  | { kind: "holds"; node: number; members: number };

/** A command from the coordinator. */
export type PartitionCommand =
  | { op: "start"; nodes: number[]; seeds: number[] }
  | { op: "preconverge" }
  | { op: "link"; link: LinkProfile }
  | { op: "run"; until: number }
  | { op: "crash"; node: number }
  | { op: "random" }
  | { op: "watch-dead"; victim: number }
  | { op: "check"; check: Check }
  | { op: "stats" }
  | { op: "views" };

/** A partition's counters, summed by the coordinator. */
export interface PartitionStats {
  /** Datagrams its hosts sent. */
  datagrams: number;
  /** Bytes its hosts sent. */
  bytes: number;
  /** Its running hosts. */
  up: number;
  /** Sessions its running hosts hold (members each has talked to). */
  talked: number;
  /** Dead declarations about running hosts other than the victim, since `watch-dead`. */
  falseDead: number;
  /** Windows exchanged (0 with one partition). */
  windows: number;
  /** Time spent waiting for other partitions at window ends (ms). */
  waitedMs: number;
  /** This thread's V8 heap in use (bytes). */
  heapUsed: number;
  /** This thread's memory outside the V8 heap (bytes). */
  external: number;
}

/** One partition's cluster and its side of the exchange. */
export class Partition {
  readonly cluster: Cluster;
  readonly #exchange: PartitionExchange | null;
  #victim = -1;
  #falseDead = 0;
  #lastFailed = 0;

  /** Partition `index` of `setup.count`. */
  constructor(setup: PartitionSetup, index: number) {
    this.cluster = new Cluster({
      n: setup.n,
      seed: setup.seed,
      crypto: "fast",
      profile: setup.profile,
      keyed: true,
      partition: setup.count > 1 ? { index, count: setup.count } : undefined,
    });
    this.cluster.keepEvents = false;
    const cluster = this.cluster;
    cluster.onEvent = ({ event }) => {
      if (event.type !== "dead") return;
      const subject = cluster.indexOfKey(event.member.publicKey);
      if (subject !== this.#victim && cluster.nodes[subject].up) this.#falseDead++;
    };
    if (setup.count === 1) {
      this.#exchange = null;
      return;
    }
    if (setup.buffers === null) throw new Error("partitioned simulation: no shared buffers");
    const exchange = new PartitionExchange(setup.buffers, index, setup.count);
    this.#exchange = exchange;
    cluster.net.divert = (at, order, sender, to, data) => {
      const receiver = cluster.indexOf(to);
      if (receiver === undefined || cluster.owns(receiver)) return false;
      exchange.post(receiver % setup.count, at, order, sender, receiver, data);
      return true;
    };
  }

  /** Carries out `command`; returns its answer (undefined for most). */
  handle(command: PartitionCommand): unknown {
    const cluster = this.cluster;
    switch (command.op) {
      case "start":
        for (const node of command.nodes) cluster.start(node, command.seeds);
        return;
      case "preconverge":
        return cluster.preconverge();
      case "link":
        cluster.net.link = command.link;
        return;
      case "run":
        return this.#run(command.until);
      case "crash":
        return cluster.crash(command.node);
      case "random":
        return cluster.random();
      case "watch-dead":
        this.#victim = command.victim;
        this.#falseDead = 0;
        return;
      case "check":
        return this.#check(command.check);
      case "stats":
        return this.#stats();
      case "views":
        return this.#views();
    }
  }

  /** Fails the whole run (every partition's next barrier throws). */
  fail(): void {
    this.#exchange?.fail();
  }

  #run(until: number): void {
    const net = this.cluster.net;
    const exchange = this.#exchange;
    if (exchange === null) return net.run(until);
    const lookahead = net.link.latency;
    if (!(lookahead > 0) || net.hostLinks.size > 0 || net.partition !== null) {
      throw new Error(
        "partitioned simulation: needs one link profile with a fixed latency > 0 (its lookahead)",
      );
    }
    const nodes = this.cluster.nodes;
    const arrive = (
      at: number,
      order: number,
      sender: number,
      receiver: number,
      data: Uint8Array,
    ) => net.deliver(at, order, sender, nodes[receiver].address, data);
    let start = net.now;
    while (start + lookahead <= until) {
      net.runBefore(start + lookahead);
      exchange.endWindow(arrive);
      start += lookahead;
    }
    net.run(until);
    exchange.endWindow(arrive);
  }

  #check(check: Check): boolean {
    const cluster = this.cluster;
    const nodes = cluster.nodes;
    switch (check.kind) {
      case "holds":
        return !cluster.owns(check.node) ||
          nodes[check.node].engine!.tableSizes().members >= check.members;
      case "all-see-alive":
        return this.#allOwned(
          check.among,
          (i) => i === check.subject || !nodes[i].up || cluster.sees(i, check.subject),
        );
      case "none-see-live":
        return this.#allOwned(
          nodes.length,
          (i) =>
            i === check.subject || !nodes[i].up ||
            (!cluster.sees(i, check.subject, "alive") &&
              !cluster.sees(i, check.subject, "suspect")),
        );
    }
  }

  /**
   * True when `holds(i)` for every owned i < among, asking first the one that failed last time:
   * while the answer is "no" (every poll until the end) that costs one lookup, not N.
   */
  #allOwned(among: number, holds: (i: number) => boolean): boolean {
    const cluster = this.cluster;
    const last = this.#lastFailed;
    if (last < among && cluster.owns(last) && !holds(last)) return false;
    for (let i = 0; i < among; i++) {
      if (cluster.owns(i) && !holds(i)) {
        this.#lastFailed = i;
        return false;
      }
    }
    return true;
  }

  /** Per running host here, by index: each member's state and version, in the engine's order. */
  #views(): [number, string][] {
    const views: [number, string][] = [];
    this.cluster.nodes.forEach((node, index) => {
      if (node.engine === null) return;
      const members = node.engine.members().map((m) =>
        `${this.cluster.indexOfKey(m.publicKey)}:${m.state}:${m.epoch}.${m.incarnation}`
      );
      views.push([index, members.join(" ")]);
    });
    return views;
  }

  #stats(): PartitionStats {
    const cluster = this.cluster;
    let bytes = 0;
    for (const sent of cluster.net.sentBytes.values()) bytes += sent;
    let up = 0;
    let talked = 0;
    for (const node of cluster.nodes) {
      if (node.engine === null) continue;
      up++;
      talked += node.engine.tableSizes().sessions;
    }
    const memory = Deno.memoryUsage();
    return {
      datagrams: cluster.net.datagrams,
      bytes,
      up,
      talked,
      falseDead: this.#falseDead,
      windows: this.#exchange?.windows ?? 0,
      waitedMs: this.#exchange?.waitedMs ?? 0,
      heapUsed: memory.heapUsed,
      external: memory.external,
    };
  }
}
