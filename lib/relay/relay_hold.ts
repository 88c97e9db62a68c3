/**
 * A relay's short hold of handshake initiations it cannot forward yet (issue 13). A pair's first
 * initiation often reaches the relay before the relay has proven the far member's address (both
 * learn of each other through the same gossip); dropped, it would leave the pair waiting for
 * WireGuard's retry 5 s later. So the relay keeps the latest few such initiations (fixed slots,
 * no allocation) and offers them to its table again whenever the table changes, for
 * RELAY_HOLD_MS: well inside the initiator's retry, so the response still matches its pending
 * handshake. Only initiations from trusted senders are held (the table accepted the source and
 * spent its budget), so an outsider cannot fill the slots.
 */

import { RELAY_HEADER_BYTES } from "./relay_frame.ts";
import { RELAY_DROP_NO_PATH, RELAY_FORWARD, type RelayTable } from "./relay_table.ts";

/** Initiations held at once per relay edge (the oldest gives way). */
export const RELAY_HOLD_SLOTS = 8;
/** How long one is offered again (ms; WireGuard retries an unanswered initiation after 5 s). */
export const RELAY_HOLD_MS = 3_000;
/** A WireGuard handshake initiation's type and size. */
const INITIATION_TYPE = 1;
const INITIATION_BYTES = 148;
const FRAME_BYTES = RELAY_HEADER_BYTES + INITIATION_BYTES;

/** Counters of the hold (status and tests). */
export interface RelayHoldStats {
  /** Initiations held because their destination had no path yet. */
  held: number;
  /** Held initiations forwarded once the path appeared. */
  released: number;
  /** Held initiations given up (too old, or pushed out by newer ones). */
  expired: number;
}

/** The held initiations of one relay edge. */
export class RelayHold {
  /** Counters (plain fields: one writer, the edge's thread). */
  readonly stats: RelayHoldStats = { held: 0, released: 0, expired: 0 };
  readonly #frames = new Uint8Array(RELAY_HOLD_SLOTS * FRAME_BYTES);
  readonly #fromIps = new Uint8Array(RELAY_HOLD_SLOTS * 16);
  readonly #fromPorts = new Int32Array(RELAY_HOLD_SLOTS);
  /** When each slot was filled; -Infinity: empty. */
  readonly #heldAt = new Float64Array(RELAY_HOLD_SLOTS).fill(-Infinity);
  #count = 0;
  /** The table version last tried: nothing is retried until the table changes. */
  #triedVersion = -1;

  /** Frames held now. */
  get count(): number {
    return this.#count;
  }

  /**
   * After the table said RELAY_DROP_NO_PATH for `frame`: keeps it when it carries a handshake
   * initiation (the frame is copied; the caller's buffer is free again).
   */
  hold(frame: Uint8Array, fromIp: Uint8Array, fromPort: number, table: RelayTable, now: number) {
    if (frame.length !== FRAME_BYTES || frame[RELAY_HEADER_BYTES] !== INITIATION_TYPE) return;
    let slot = 0;
    for (let i = 1; i < RELAY_HOLD_SLOTS; i++) {
      if (this.#heldAt[i] < this.#heldAt[slot]) slot = i;
    }
    if (this.#heldAt[slot] !== -Infinity) {
      this.stats.expired++;
      this.#count--;
    }
    this.#frames.set(frame, slot * FRAME_BYTES);
    this.#fromIps.set(fromIp.subarray(0, 16), slot * 16);
    this.#fromPorts[slot] = fromPort;
    this.#heldAt[slot] = now;
    this.#count++;
    this.stats.held++;
    this.#triedVersion = table.version;
  }

  /**
   * Offers every held frame to `table` again when it changed since the last try; `send` gets
   * each one it forwards (rewritten in place, to table.destIp/destPort). Too old ones go.
   */
  release(
    table: RelayTable,
    now: number,
    send: (frame: Uint8Array) => void,
  ): void {
    if (this.#count === 0 || table.version === this.#triedVersion) return;
    this.#triedVersion = table.version;
    for (let i = 0; i < RELAY_HOLD_SLOTS; i++) {
      const at = this.#heldAt[i];
      if (at === -Infinity) continue;
      if (now - at > RELAY_HOLD_MS) {
        this.#free(i);
        this.stats.expired++;
        continue;
      }
      const frame = this.#frames.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES);
      const ip = this.#fromIps.subarray(i * 16, i * 16 + 16);
      const verdict = table.relay(frame, ip, this.#fromPorts[i], now);
      if (verdict === RELAY_DROP_NO_PATH) continue;
      this.#free(i);
      if (verdict !== RELAY_FORWARD) continue;
      this.stats.released++;
      send(frame);
    }
  }

  #free(slot: number): void {
    this.#heldAt[slot] = -Infinity;
    this.#count--;
  }
}
