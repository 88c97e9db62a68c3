/**
 * N in-process SWIM nodes over the fake network: builds identities (real crypto or the fast
 * stand-in), drives each engine's timers from the virtual clock, records events, and offers
 * crash, restart and "pre-converged" start (every node already holding every record, as
 * after a long-running cluster) for large-N benchmarks.
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import {
  SwimEngine,
  type SwimEngine as Engine,
  trustKeys,
  type TrustPolicy,
} from "../../../lib/swim/engine.ts";
import type { MemberInfo, SwimEvent } from "../../../lib/swim/events.ts";
import type { SwimConfig, SwimProfileName } from "../../../lib/swim/profiles.ts";
import { type AliveRecord, keyId, makeAliveRecord, NatType } from "../../../lib/swim/records.ts";
import { createSwimCrypto, type SwimCrypto } from "../../../lib/swim/swim_crypto.ts";
import { createFastCrypto } from "./fast_crypto.ts";
import { type EventHandler, SimNetwork } from "./network.ts";
import { mulberry32, randomBytes } from "./prng.ts";

/** How to build a cluster. */
export interface ClusterOptions {
  /** Number of nodes. */
  n: number;
  /** PRNG seed: the whole run is a function of it. */
  seed: number;
  /** "real" (node:crypto, default) or "fast" (insecure stand-in, for big N). */
  crypto?: "real" | "fast";
  /** Engine profile. */
  profile?: SwimProfileName;
  /** Engine overrides. */
  config?: Partial<SwimConfig>;
  /** Per-node overrides (e.g. Lifeguard off on some). */
  nodeConfig?: (index: number) => Partial<SwimConfig>;
  /** Per-node trust policy (default: the cluster-wide one). */
  nodeTrust?: (index: number, cluster: TrustPolicy) => TrustPolicy;
  /**
   * A keyed network (SimNetwork's `keyedSeed`): per-sender loss streams and thread-independent
   * event order, so the run can be split into partitions. Implied by `partition`.
   */
  keyed?: boolean;
  /**
   * This cluster runs only the hosts `i % count === index`: the others are known (identity,
   * epoch, up or not) but run in other partitions (see partitioned_run.ts).
   */
  partition?: { index: number; count: number };
}

/** One simulated host. */
export class SimNode {
  /** Engine of the current incarnation of the host (null while crashed). */
  engine: Engine | null = null;
  /** Its UDP address. */
  readonly address: string;
  /** Identity seed (real crypto only). */
  readonly seed: Uint8Array;
  /** Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** `publicKey` as a binary-string id. */
  readonly id: string;
  /** Crypto object (kept across restarts: same identity). */
  readonly crypto: SwimCrypto;
  /** Times restarted. */
  restarts = 0;
  /** When its armed agenda event fires (Infinity: none armed). */
  timerAt = Infinity;
  /** Bumped on every re-arm, start and crash: an event carrying an older one is stale. */
  timerToken = 0;
  /** Its engine's timer handler (one per start, so re-arming allocates nothing). */
  onTimer: EventHandler = () => {};
  /** Its index as a sender on the network. */
  sender = -1;
  /** Boot epoch of its current incarnation (0 before its first start). */
  epoch = 0;
  /** Running in another partition (this one only knows that it is up). */
  remoteUp = false;

  constructor(address: string, seed: Uint8Array, publicKey: Uint8Array, crypto: SwimCrypto) {
    this.address = address;
    this.seed = seed;
    this.publicKey = publicKey;
    this.id = keyId(publicKey);
    this.crypto = crypto;
  }

  /** True while running (here or, for a partitioned run, in another partition). */
  get up(): boolean {
    return this.engine !== null || this.remoteUp;
  }
}

/** An event observed in the simulation. */
export interface ObservedEvent {
  /** Virtual time. */
  at: number;
  /** Node index that emitted it. */
  node: number;
  /** The event. */
  event: SwimEvent;
}

/** Address of node `index`. */
export function nodeAddress(index: number): string {
  return `10.${(index >> 8) & 255}.${index & 255}.1:51821`;
}

/** The cluster under simulation. */
export class Cluster {
  /** The fake network and clock. */
  readonly net: SimNetwork;
  /** The hosts. */
  readonly nodes: SimNode[] = [];
  /** The shared trust policy (every node trusts every node plus `extraTrusted`). */
  readonly trust: TrustPolicy;
  /** Keys trusted in addition to the nodes' (e.g. for a hostile insider). */
  readonly extraTrusted = new Set<string>();
  /** Called for every event (tests count false positives here). */
  onEvent: ((observed: ObservedEvent) => void) | null = null;
  /** Every event, when `keepEvents` is true. */
  readonly events: ObservedEvent[] = [];
  /** Keep every event in `events` (off for big runs). */
  keepEvents = true;
  readonly options: ClusterOptions;
  readonly #byAddress = new Map<string, number>();
  readonly random: () => number;

  constructor(options: ClusterOptions) {
    this.options = options;
    this.random = mulberry32(options.seed);
    const keyed = options.keyed === true || options.partition !== undefined;
    this.net = new SimNetwork(mulberry32(options.seed ^ 0x5eed), keyed ? options.seed : null);
    for (let i = 0; i < options.n; i++) {
      const seed = randomBytes(this.random, 32);
      let publicKey: Uint8Array;
      let crypto: SwimCrypto;
      if (options.crypto === "fast") {
        publicKey = seed.slice();
        crypto = createFastCrypto(publicKey);
      } else {
        publicKey = ed25519.getPublicKey(seed);
        crypto = createSwimCrypto(seed, publicKey);
      }
      const node = new SimNode(nodeAddress(i), seed, publicKey, crypto);
      node.sender = this.net.sender(node.address);
      this.nodes.push(node);
      this.#byAddress.set(node.address, i);
    }
    this.trust = this.#nodeTrust();
  }

  /**
   * Trusts the nodes' keys and `extraTrusted`. Asked per datagram with a freshly built id
   * string, so a Set<string> would hash 32 chars each time: instead an open-addressing table
   * keyed by the key's first 4 bytes points into one flat copy of every node's key (160 KB at
   * 5,000 nodes, which stays in cache, where a node's own key object cost ~3 cache misses).
   */
  #nodeTrust(): TrustPolicy {
    const count = this.nodes.length;
    const keys = new Uint8Array(count * 32);
    let capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    const mask = capacity - 1;
    // Node index + 1 by slot; 0 = empty.
    const slots = new Int32Array(capacity);
    for (let i = 0; i < count; i++) {
      const key = this.nodes[i].publicKey;
      if (key.length !== 32) throw new Error(`cluster: node ${i} has a ${key.length}-byte key`);
      keys.set(key, i * 32);
      let at = homeSlot(key, mask);
      while (slots[at] !== 0) at = (at + 1) & mask;
      slots[at] = i + 1;
    }
    const isNode = (key: Uint8Array): boolean => {
      if (key.length !== 32) return false;
      for (let at = homeSlot(key, mask); slots[at] !== 0; at = (at + 1) & mask) {
        const base = (slots[at] - 1) * 32;
        let i = 0;
        while (i < 32 && keys[base + i] === key[i]) i++;
        if (i === 32) return true;
      }
      return false;
    };
    const extra = this.extraTrusted;
    return { isTrusted: (key, id) => isNode(key) || (extra.size > 0 && extra.has(id)) };
  }

  /** True when node `index` runs in this cluster (always, unless it is a partition). */
  owns(index: number): boolean {
    const partition = this.options.partition;
    return partition === undefined || index % partition.count === partition.index;
  }

  /** Starts node `index` now, joining through `seeds` (node indices). */
  start(index: number, seeds: number[] = []): SimNode {
    const node = this.nodes[index];
    const epoch = 1 + Math.floor(this.net.now) + node.restarts;
    node.epoch = epoch;
    if (!this.owns(index)) {
      node.remoteUp = true;
      return node;
    }
    const engine = new SwimEngine({
      crypto: node.crypto,
      trust: this.options.nodeTrust?.(index, this.trust) ?? this.trust,
      epoch,
      endpoints: [node.address],
      nat: NatType.Public,
      seeds: seeds.map((s) => this.nodes[s].address),
      profile: this.options.profile ?? "lan",
      config: { ...this.options.config, ...this.options.nodeConfig?.(index) },
      random: mulberry32(this.options.seed * 7919 + index * 104729 + node.restarts),
    });
    node.engine = engine;
    node.timerAt = Infinity;
    node.timerToken++;
    node.onTimer = (token, due) => {
      if (token !== node.timerToken || node.engine !== engine) return;
      node.timerAt = Infinity;
      engine.tick(due);
      this.flush(index);
    };
    this.net.bind(node.address, (from, data, now) => {
      if (node.engine !== engine) return;
      engine.receive(from, data, now);
      this.flush(index);
    });
    engine.start(this.net.now);
    this.flush(index);
    return node;
  }

  /** Crashes node `index`: no goodbye, its address goes silent. */
  crash(index: number): void {
    const node = this.nodes[index];
    node.remoteUp = false;
    node.engine = null;
    node.timerToken++;
    this.net.unbind(node.address);
  }

  /** Restarts a crashed node with a fresh engine (higher epoch), joining via `seeds`. */
  restart(index: number, seeds: number[]): SimNode {
    const node = this.nodes[index];
    if (node.engine !== null) this.crash(index);
    node.restarts++;
    return this.start(index, seeds);
  }

  /**
   * Gives every running node every other node's signed record, as if the cluster had long
   * converged (used to measure a 5,000-node cluster without simulating 5,000 joins).
   */
  preconverge(): void {
    const records: AliveRecord[] = this.nodes.filter((node) => node.up).map((node) =>
      makeAliveRecord(node.crypto, node.epoch, 0, NatType.Public, [node.address])
    );
    for (const node of this.nodes) {
      const engine = node.engine;
      if (engine === null) continue;
      engine.learn(records, this.net.now);
      engine.drainEvents();
    }
  }

  /** Hands a node's output to the network and its events to observers; re-arms its timer. */
  flush(index: number): void {
    const node = this.nodes[index];
    const engine = node.engine;
    if (engine === null) return;
    for (const out of engine.drainOutgoing()) {
      this.net.send(node.address, out.to, out.data, node.sender);
    }
    for (const event of engine.drainEvents()) {
      const observed = { at: this.net.now, node: index, event };
      if (this.keepEvents) this.events.push(observed);
      this.onEvent?.(observed);
    }
    const due = engine.nextDeadline();
    if (due < node.timerAt) {
      node.timerAt = due;
      this.net.call(due, node.onTimer, ++node.timerToken, node.sender);
    }
  }

  /** Runs until `until` (ms). */
  run(until: number): void {
    this.net.run(until);
  }

  /** Advances in `step` ms slices until `done()` or `limit`; returns the time it held, or null. */
  runUntil(done: () => boolean, limit: number, step = 100): number | null {
    while (this.net.now < limit) {
      if (done()) return this.net.now;
      this.net.run(Math.min(limit, this.net.now + step));
    }
    return done() ? this.net.now : null;
  }

  /** Index of the node at `address`. */
  indexOf(address: string): number | undefined {
    return this.#byAddress.get(address);
  }

  /** True when node `i` lists node `j` in `state`. */
  sees(i: number, j: number, state = "alive"): boolean {
    return this.nodes[i].engine?.member(this.nodes[j].publicKey)?.state === state;
  }

  /** Node `i`'s view of node `j`, or null. */
  member(i: number, j: number): MemberInfo | null {
    return this.nodes[i].engine?.member(this.nodes[j].publicKey) ?? null;
  }

  /** Index of the node with public key `key`, or -1. */
  indexOfKey(key: Uint8Array): number {
    const id = keyId(key);
    return this.nodes.findIndex((node) => node.id === id);
  }

  /** Running nodes' indices. */
  running(): number[] {
    return this.nodes.flatMap((node, i) => node.up ? [i] : []);
  }

  /** True when every running node sees every other running node alive. */
  converged(): boolean {
    const up = this.running();
    for (const i of up) {
      const engine = this.nodes[i].engine!;
      if (engine.members("alive").length !== up.length - 1) return false;
    }
    return true;
  }
}

/** A trust policy over a cluster's keys (re-exported for tests that build engines by hand). */
export { trustKeys };

/** A key's home slot in the trust table: its first 4 bytes, mixed. */
function homeSlot(key: Uint8Array, mask: number): number {
  const prefix = key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24);
  const h = Math.imul(prefix ^ (prefix >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) & mask;
}
