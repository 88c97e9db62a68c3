/**
 * A node's relaying (issue 13) between its membership and its device: the relay planner on the
 * device's relay edge, re-planned after membership events (a path proven, a relay suspected) or
 * else once a second (RTTs drift slowly), so a busy node does not walk its members per datagram.
 */

import type { MemberInfo } from "../swim/events.ts";
import type { RelayEndpoints } from "../relay/relay_endpoints.ts";
import { type RelayChange, RelayPlanner } from "../relay/relay_planner.ts";
import type { RelayLimits, RelayTable } from "../relay/relay_table.ts";

/** Longest gap between two relay plans without membership events (ms). */
const RELAY_REPLAN_MS = 1_000;

/** The part of a device that relays (see `MeshDevice`). */
export interface RelayDevice {
  /** Puts the relay edge on the device's sockets. */
  useRelay?(endpoints: RelayEndpoints, table: RelayTable | null): void;
  /** The bindings or table changed. */
  relayUpdated?(): void;
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

  /** The hex id of the relay `publicKey`'s traffic goes through, when `endpoint` is virtual. */
  relayOf(publicKey: Uint8Array, endpoint: string | null): string | null {
    return this.#planner.relayOf(publicKey, endpoint);
  }
}
