/**
 * How a mesh node's peer changes reach its WireGuard device: each batch the peer table produces
 * is logged, passed through the peer filter (`peerFilter`), and applied to the device in order;
 * a peer that got a new usable path is asked for a handshake at once and again shortly
 * (`fresh_paths.ts`), since the first initiation on a new path is easily lost. A relay plan's
 * changes (`node_relays.ts`) become peer changes here too.
 */

import type { Logger } from "../log/logger.ts";
import type { RelayChange } from "../relay/relay_planner.ts";
import { DeviceConfigError } from "../wireguard/device_config.ts";
import { FreshPaths } from "./fresh_paths.ts";
import type { MeshPeers, PeerChanges } from "./mesh_peers.ts";
import type { MeshDevice, MeshNodeOptions } from "./node_options.ts";

/** What the changes need of the node. */
export interface PeerChangesContext {
  log: Logger;
  options: MeshNodeOptions;
  peers: MeshPeers;
  /** The device (null before start). */
  device: () => MeshDevice | null;
  /** True once the node stopped: nothing more is applied. */
  stopped: () => boolean;
}

/** One node's peer changes towards its device, and its fresh paths. */
export class NodePeerChanges {
  /** Peers whose new path is asked for a handshake again shortly. */
  readonly #fresh = new FreshPaths();

  /** Changes for the node `context` describes. */
  constructor(private readonly context: PeerChangesContext) {}

  /** Logs a change and applies its peer changes to the device, in order. */
  apply(changes: PeerChanges, filter = true): void {
    const { log, options, peers } = this.context;
    for (const line of changes.logs) log[line.level](line.message);
    if (peers.recordsChanged) options.onRecordsChanged?.();
    const filtered = filter && options.peerFilter
      ? options.peerFilter.filter(changes.peers)
      : changes.peers;
    const device = this.context.device();
    if (filtered.length === 0 || device === null || this.context.stopped()) return;
    try {
      device.configure({ peers: filtered });
    } catch (error) {
      if (!(error instanceof DeviceConfigError)) throw error;
      log.error(`the WireGuard device refused a peer change: ${error.message}`);
      return;
    }
    for (const change of filtered) {
      if (change.kind === "upsert" && change.endpoint !== undefined) {
        this.freshPath(change.publicKey);
      }
    }
  }

  /**
   * Applies a relay plan: a peer routed through another relay gets that endpoint; one whose
   * frames another relay now accepts gets a fresh handshake while it has no proven path.
   */
  applyRelayPlan(plan: readonly RelayChange[]): void {
    const peers = this.context.peers;
    for (const change of plan) {
      if (change.accepting === true) {
        const peer = peers.peer(change.publicKey);
        if (peer?.configured && peer.verified === null) this.freshPath(peer.wireguardKey);
        continue;
      }
      this.apply(
        peers.setRelayEndpoint(change.publicKey, change.endpoint, change.repoint === true),
      );
    }
  }

  /** Applies what the peer filter changed (the admitted set moved). */
  refilter(): void {
    const peers = this.context.options.peerFilter?.reconcile() ?? [];
    this.apply({ peers, logs: [] }, false);
  }

  /** Peer `wireguardKey` has a new usable path: a handshake now, and soon again if need be. */
  freshPath(wireguardKey: Uint8Array): void {
    const device = this.context.device();
    if (device?.initiateHandshake === undefined) return;
    device.initiateHandshake(wireguardKey);
    this.#fresh.usable(wireguardKey);
  }

  /** Asks again for the handshakes due by `now`. */
  tick(now: number): void {
    for (const key of this.#fresh.due(now)) this.context.device()?.initiateHandshake?.(key);
  }

  /** Starts the retry clock of the paths made usable since the last call. */
  arm(now: number): void {
    this.#fresh.arm(now);
  }

  /** When the next handshake is asked for again (Infinity: none). */
  nextDeadline(): number {
    return this.#fresh.nextDeadline();
  }
}
