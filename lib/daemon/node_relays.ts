/**
 * A node's relaying (issue 13) between its membership and its device: the relay planner on the
 * device's relay edge, re-planned after membership events (a path proven, a relay suspected) or
 * else once a second (RTTs drift slowly), so a busy node does not walk its members per datagram.
 */

import type { RelayPairStatus, RelayServingStatus } from "../control/control_protocol.ts";
import type { MemberInfo } from "../swim/events.ts";
import type { RelayEndpoints } from "../relay/relay_endpoints.ts";
import { type RelayChange, RelayPlanner } from "../relay/relay_planner.ts";
import {
  RELAY_FORWARD,
  RELAY_HOLD_COUNTERS,
  RELAY_VERDICTS,
  type RelayLimits,
  type RelayTable,
  type RelayTableStats,
} from "../relay/relay_table.ts";

/** Longest gap between two relay plans without membership events (ms). */
const RELAY_REPLAN_MS = 1_000;

/** The part of a device that relays (see `MeshDevice`). */
export interface RelayDevice {
  /** Puts the relay edge on the device's sockets. */
  useRelay?(endpoints: RelayEndpoints, table: RelayTable | null): void;
  /** The bindings or table changed. */
  relayUpdated?(): void;
  /** Each data thread's relay counters and pairs (a relaying device). */
  relayStats?(): RelayTableStats[];
}

/** Relays used and, with `--relay`, offered by one node. */
export class NodeRelays {
  readonly #planner: RelayPlanner;
  readonly #device: RelayDevice;
  #lastPlan = -Infinity;

  private constructor(device: RelayDevice, relay: boolean, limits: Partial<RelayLimits>) {
    this.#device = device;
    this.#planner = new RelayPlanner(relay, limits);
    device.useRelay!(this.#planner.endpoints, this.#planner.table);
  }

  /** The node's relaying on `device`; null when the device has no relay edge. */
  static attach(
    device: RelayDevice,
    relay: boolean,
    limits: Partial<RelayLimits> = {},
  ): NodeRelays | null {
    return device.useRelay === undefined ? null : new NodeRelays(device, relay, limits);
  }

  /** True when this node relays for others (and so advertises ALIVE_FLAG_RELAY). */
  get offers(): boolean {
    return this.#planner.table !== null;
  }

  /** Re-plans when due (`events`: membership changed); the peers whose relayed endpoint changed. */
  plan(
    members: () => MemberInfo[],
    trusted: (key: Uint8Array) => boolean,
    now: number,
    events: boolean,
  ): RelayChange[] {
    if (!events && now - this.#lastPlan < RELAY_REPLAN_MS) return [];
    this.#lastPlan = now;
    const version = this.#planner.version;
    const changes = this.#planner.plan(members(), trusted);
    if (this.#planner.version !== version) this.#device.relayUpdated?.();
    return changes;
  }

  /**
   * What this node forwards for others, summed over the device's data threads (null: it does
   * not relay); `nameOf` names a member by its short id (hex of its key's first 8 bytes).
   */
  serving(nameOf: (shortId: string) => string): RelayServingStatus | null {
    const table = this.#planner.table;
    if (table === null) return null;
    const l = table.limits;
    return {
      limits: {
        bytes_per_second: Math.round(l.bytesPerSecond),
        packets_per_second: Math.round(l.packetsPerSecond),
        byte_burst: Math.round(l.byteBurst),
        packet_burst: Math.round(l.packetBurst),
        max_pairs: l.maxPairs,
      },
      ...summarizeRelayStats(this.#device.relayStats?.() ?? [], nameOf),
    };
  }

  /** The hex id of the relay `publicKey`'s traffic goes through, when `endpoint` is virtual. */
  relayOf(publicKey: Uint8Array, endpoint: string | null): string | null {
    return this.#planner.relayOf(publicKey, endpoint);
  }
}

/** Sums per-thread relay counters into `status`'s view (pairs merged by names, busiest first). */
export function summarizeRelayStats(
  threads: readonly RelayTableStats[],
  nameOf: (shortId: string) => string,
): RelayServingStatus {
  const dropped: Record<string, number> = {};
  for (let v = 0; v < RELAY_VERDICTS.length; v++) {
    if (v !== RELAY_FORWARD) dropped[RELAY_VERDICTS[v]] = 0;
  }
  const held: Record<string, number> = {};
  for (const name of RELAY_HOLD_COUNTERS) held[name] = 0;
  let packets = 0;
  let bytes = 0;
  const pairs = new Map<string, RelayPairStatus>();
  for (const thread of threads) {
    thread.holds?.forEach((count, i) => held[RELAY_HOLD_COUNTERS[i]] += count);
    thread.counts.forEach((count, v) => {
      if (v === RELAY_FORWARD) packets += count;
      else dropped[RELAY_VERDICTS[v]] += count;
    });
    bytes += thread.forwardedBytes;
    for (const pair of thread.pairs) {
      const key = `${pair.from} ${pair.to}`;
      const entry = pairs.get(key) ??
        { from: nameOf(pair.from), to: nameOf(pair.to), packets: 0, bytes: 0 };
      entry.packets += pair.packets;
      entry.bytes += pair.bytes;
      pairs.set(key, entry);
    }
  }
  return {
    forwarded_packets: packets,
    forwarded_bytes: bytes,
    dropped,
    held,
    pairs: [...pairs.values()].sort((a, b) => b.bytes - a.bytes),
  };
}
