/**
 * How the soak looks at a large mesh cheaply: `status` straight over each daemon's control socket
 * (the same request and validation `meshguard status --json` uses, without starting a Deno CLI per
 * read, which 24 nodes × many polls could not afford on two cores), the convergence predicate
 * (every live node lists every other live node alive, with a WireGuard handshake), and pings
 * over mesh addresses run a few at a time.
 */

import { sendControlRequest } from "../../../lib/control/control_client.ts";
import type { DaemonStatus } from "../../mesh/helpers/daemon_status.ts";
import type { MeshLab } from "../../mesh/helpers/mesh_lab.ts";
import type { RemovalWatch } from "./removal_watch.ts";

/** Pings run at once (each is an `ip netns exec ping`, cheap next to the daemons). */
const PING_CONCURRENCY = 8;
/**
 * A status read must not hang a poll. A healthy daemon answers in milliseconds; on two cores
 * shared with other work it can take seconds, which is not what the soak is about.
 */
const STATUS_TIMEOUT_MS = 15_000;

/**
 * The earliest handshake (wall-clock ms) that counts for the pair (observer, peer): the end of
 * the fault that affected the pair, or 0 when any handshake will do.
 */
export type HandshakeSince = (observer: number, peer: number) => number;

/** Any handshake counts. */
export const ANY_HANDSHAKE: HandshakeSince = () => 0;

/** Status reads, convergence checks and pings for one lab. */
export class MeshProbe {
  private readonly lab: MeshLab;
  private readonly watch: RemovalWatch;
  /** Nodes whose mesh IPv4 another node of the lab also derives (the collision rule applies). */
  private readonly collidingIpv4 = new Set<number>();

  /** A probe that reports every status it reads to `watch`. */
  constructor(lab: MeshLab, watch: RemovalWatch) {
    this.lab = lab;
    this.watch = watch;
    for (const node of lab.nodes) {
      if (lab.nodes.some((other) => other !== node && other.meshIpv4 === node.meshIpv4)) {
        this.collidingIpv4.add(node.index);
      }
    }
  }

  /**
   * The address a ping from `from` to `to` goes to: mesh IPv4, or IPv6 when either end's IPv4
   * collides with another node's (then only one of the two holds it on each peer, and a packet
   * from or to the other is dropped by cryptokey routing, as designed; IPv6 is always unique).
   */
  addressFor(from: number, to: number): string {
    const node = this.lab.node(to);
    return this.collidingIpv4.has(from) || this.collidingIpv4.has(to)
      ? node.meshIpv6
      : node.meshIpv4;
  }

  /** The nodes whose mesh IPv4 collides with another's (for the report). */
  get ipv4Collisions(): number[] {
    return [...this.collidingIpv4];
  }

  /** Node `k`'s status over its control socket; also fed to the removal watch. */
  async status(k: number): Promise<DaemonStatus> {
    const node = this.lab.node(k);
    const answer = await sendControlRequest(
      node.controlPath,
      { command: "status" },
      STATUS_TIMEOUT_MS,
    );
    if (!answer.ok) throw new Error(`status of ${node.name} refused: ${answer.error}`);
    if (!("status" in answer)) throw new Error(`status of ${node.name}: no status in the answer`);
    this.watch.observeStatus(k, answer.status);
    return answer.status;
  }

  /**
   * Reads every node in `nodes` once, only to feed the watch; returns the reads that failed
   * (slow answers under load: a daemon that is really gone fails the convergence checks).
   */
  async observe(nodes: number[]): Promise<string[]> {
    const results = await Promise.allSettled(nodes.map((k) => this.status(k)));
    return results.flatMap((result, i) =>
      result.status === "rejected" ? [`node${nodes[i]}: ${result.reason}`] : []
    );
  }

  /** Reads every node in `nodes` once (feeding the watch); errors are the caller's. */
  async statuses(nodes: number[]): Promise<Map<number, DaemonStatus>> {
    const entries = await Promise.all(
      nodes.map(async (k) => [k, await this.status(k)] as const),
    );
    return new Map(entries);
  }

  /**
   * Resolves true once every node of `live` lists every other one as alive (and, with
   * `handshakeSince`, with a handshake no older than it says); throws "not yet" naming the gap.
   */
  async converged(live: number[], handshakeSince?: HandshakeSince): Promise<true> {
    const statuses = await this.statuses(live);
    for (const k of live) {
      const status = statuses.get(k)!;
      for (const other of live) {
        if (other === k) continue;
        const node = this.lab.node(other);
        const entry = status.peers.find((peer) => peer.public_key === node.publicKey);
        if (entry?.state !== "alive") {
          throw new Error(`node${k} sees node${other} as ${entry?.state ?? "absent"}`);
        }
        if (!handshakeSince) continue;
        if (entry.last_handshake === null) {
          throw new Error(`node${k} has no handshake with node${other}`);
        }
        // A second of slack: the device stamps handshakes at its own clock granularity.
        if (Date.parse(entry.last_handshake) < handshakeSince(k, other) - 1_000) {
          throw new Error(
            `node${k}'s handshake with node${other} (${entry.last_handshake}) predates the fault`,
          );
        }
      }
    }
    return true;
  }

  /** Whether each of `observers` sees each of `gone` as dead, left or not at all. */
  async allGone(observers: number[], gone: number[]): Promise<true> {
    const statuses = await this.statuses(observers);
    for (const k of observers) {
      for (const other of gone) {
        const key = this.lab.node(other).publicKey;
        const entry = statuses.get(k)!.peers.find((peer) => peer.public_key === key);
        if (entry && (entry.state === "alive" || entry.state === "suspect")) {
          throw new Error(`node${k} still sees node${other} as ${entry.state}`);
        }
      }
    }
    return true;
  }

  /**
   * Pings every pair `[from, to]` (to's mesh address, from inside from's namespace) until one
   * answer each; a pair may retry until `timeoutMs` (the first ping may wait for a handshake).
   * Returns the slowest pair's time in ms.
   */
  async pingPairs(pairs: [number, number][], timeoutMs: number): Promise<number> {
    let next = 0;
    let slowest = 0;
    let failed = false;
    const worker = async () => {
      // After one pair fails the others stop too: nothing may outlive the call.
      while (!failed && next < pairs.length) {
        const [from, to] = pairs[next++];
        const started = performance.now();
        try {
          await this.lab.waitFor(
            async () => await this.lab.ping(from, this.addressFor(from, to)),
            timeoutMs,
            `node${from} → node${to} (${this.addressFor(from, to)}) ping`,
          );
        } catch (error) {
          failed = true;
          throw error;
        }
        slowest = Math.max(slowest, performance.now() - started);
      }
    };
    const results = await Promise.allSettled(
      Array.from({ length: PING_CONCURRENCY }, worker),
    );
    const failure = results.find((result) => result.status === "rejected");
    if (failure) throw (failure as PromiseRejectedResult).reason;
    return slowest;
  }
}

/** Every unordered pair of `nodes`, as [smaller, larger]. */
export function allPairs(nodes: number[]): [number, number][] {
  const pairs: [number, number][] = [];
  for (const a of nodes) for (const b of nodes) if (a < b) pairs.push([a, b]);
  return pairs;
}

/** Every pair [a, b] with a in `left` and b in `right`. */
export function crossPairs(left: number[], right: number[]): [number, number][] {
  return left.flatMap((a) => right.map((b) => [a, b] as [number, number]));
}
