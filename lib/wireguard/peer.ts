/** One WireGuard peer's state inside the engine: keys, handshake, timers, counters. */

import { CookieJar } from "./cookie.ts";
import type { Endpoint } from "./endpoint.ts";
import type { InitiatorState } from "./handshake.ts";
import { PeerKeypairs } from "./keypairs.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";

/** Packets kept per peer while a handshake is in flight (the kernel keeps 128 too). */
export const MAX_STAGED_PACKETS = 128;

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
  endpoint: Endpoint | null = null;
  persistentKeepalive = 0;
  readonly cookieJar: CookieJar;
  readonly keypairs: PeerKeypairs = new PeerKeypairs();
  pending: PendingHandshake | null = null;
  /** Packets waiting for a session, oldest first. */
  staged: Uint8Array[] = [];

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

  // Deadlines of the kernel's five per-peer timers; null when not armed.
  retransmitHandshakeAt: number | null = null;
  sendKeepaliveAt: number | null = null;
  newHandshakeAt: number | null = null;
  zeroKeyMaterialAt: number | null = null;
  persistentKeepaliveAt: number | null = null;

  rxBytes = 0;
  txBytes = 0;

  constructor(p: NoisePrimitives, readonly publicKey: Uint8Array) {
    this.cookieJar = new CookieJar(p, publicKey);
  }

  /** Applies the parts of `config` that are set. */
  configure(config: PeerConfig): void {
    if (config.presharedKey !== undefined) this.presharedKey = config.presharedKey.slice();
    if (config.endpoint !== undefined) this.endpoint = config.endpoint;
    if (config.persistentKeepalive !== undefined) {
      this.persistentKeepalive = config.persistentKeepalive;
    }
  }

  /** Adds a packet to the staging queue, dropping the oldest when it is full. */
  stage(packet: Uint8Array): void {
    if (this.staged.length >= MAX_STAGED_PACKETS) this.staged.shift();
    this.staged.push(packet);
  }

  /** The earliest armed timer deadline, or null. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (
      const at of [
        this.retransmitHandshakeAt,
        this.sendKeepaliveAt,
        this.newHandshakeAt,
        this.zeroKeyMaterialAt,
        this.persistentKeepaliveAt,
      ]
    ) {
      if (at !== null && (next === null || at < next)) next = at;
    }
    return next;
  }
}
