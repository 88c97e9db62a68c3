/**
 * One WireGuard peer's state inside the engine: keys, handshake, timers, counters. What the
 * data path touches per packet (endpoint, activity, traffic) lives in the shared tables under
 * the peer's id, so data workers and the main thread see the same peer.
 */

import { CookieJar } from "./cookie.ts";
import type { DataPlane } from "./data_plane.ts";
import type { DataPlaneState } from "./data_plane_state.ts";
import type { Endpoint } from "./endpoint.ts";
import type { InitiatorState } from "./handshake.ts";
import { PeerKeypairs } from "./keypairs.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";

export { MAX_STAGED_PACKETS } from "./data_plane.ts";

/** Configuration of a peer as `wg set` expresses it. */
export interface PeerConfig {
  /** Preshared key Q (32 bytes); all zero when none. */
  presharedKey?: Uint8Array;
  endpoint?: Endpoint | null;
  /** Persistent keepalive interval in seconds; 0 turns it off. */
  persistentKeepalive?: number;
}

/** The handshake this peer is currently initiating, if any. */
export interface PendingHandshake {
  localIndex: number;
  state: InitiatorState;
}

/** Everything the engine tracks per peer. Times are engine `now` values in ms. */
export class Peer {
  presharedKey: Uint8Array = new Uint8Array(32);
  persistentKeepalive = 0;
  readonly cookieJar: CookieJar;
  readonly keypairs: PeerKeypairs = new PeerKeypairs();
  pending: PendingHandshake | null = null;

  /** Latest TAI64N timestamp accepted from this peer's initiations (replay protection). */
  latestTimestamp: Uint8Array | null = null;
  /** When we last consumed an initiation from this peer (flood protection). */
  lastInitiationConsumedAt = -Infinity;
  /** When we last sent an initiation (rate limit: one per REKEY_TIMEOUT unless retrying). */
  lastInitiationSentAt = -Infinity;
  /** Retransmissions of the current handshake round. */
  handshakeAttempts = 0;
  /** When the last handshake completed (for `wg show`), or null. */
  lastHandshakeAt: number | null = null;

  // The two timers only the main thread arms; null when not armed. The other three are
  // derived from the shared activity record, which every thread's data path writes (their
  // deadlines and rules are in peer_timers.ts).
  retransmitHandshakeAt: number | null = null;
  zeroKeyMaterialAt: number | null = null;
  /** When the persistent keepalive last fired or was turned on (it re-arms from here too). */
  persistentKeepaliveArmedAt = -Infinity;

  constructor(
    p: NoisePrimitives,
    readonly publicKey: Uint8Array,
    /** The peer's row in the shared tables. */
    readonly id: number,
    private readonly plane: DataPlane,
  ) {
    this.cookieJar = new CookieJar(p, publicKey);
  }

  /** Where the peer was last heard from (or was configured to be). */
  get endpoint(): Endpoint | null {
    return this.plane.endpointOf(this.id);
  }

  set endpoint(endpoint: Endpoint | null) {
    this.plane.setEndpoint(this.id, endpoint);
  }

  /** The shared tables this peer's row (activity, endpoint, counters) lives in. */
  get shared(): DataPlaneState {
    return this.plane.state;
  }

  /** Bytes received from the peer, over all threads. */
  get rxBytes(): number {
    return this.plane.state.receivedBytes(this.id);
  }

  /** Bytes sent to the peer, over all threads. */
  get txBytes(): number {
    return this.plane.state.sentBytes(this.id);
  }

  /** Applies the parts of `config` that are set. */
  configure(config: PeerConfig): void {
    if (config.presharedKey !== undefined) this.presharedKey = config.presharedKey.slice();
    if (config.endpoint !== undefined) this.endpoint = config.endpoint;
    if (config.persistentKeepalive !== undefined) {
      this.persistentKeepalive = config.persistentKeepalive;
    }
  }
}
