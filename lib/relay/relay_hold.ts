/**
 * A relay's short hold of handshake initiations it cannot forward yet (issue 13). A pair's first
 * initiations often reach the relay before the relay has proven an address: the far member's
 * (no path yet) or the sender's own (the sender proved the relay's address first and routes
 * through it; the relay proves the sender's with its next SWIM probe). All learn of each other
 * through the same gossip, so at a mesh's formation this is the rule, not the exception; dropped,
 * each such initiation would leave its pair waiting for a fresh-path retry or WireGuard's 5 s
 * one. So the relay keeps the latest few (fixed slots, no allocation) and offers them to its
 * table again whenever the table changes, for RELAY_HOLD_MS: well inside the initiator's retry,
 * so the response still matches its pending handshake.
 *
 * Nothing is forwarded that the table would refuse: a held frame goes on only once its source is
 * a trusted member's verified address and its destination has one (then its budget is spent).
 * Frames from trusted senders and from unproven sources wait in separate slots, so an outsider
 * flooding initiations only churns the unproven slots: it delays nobody whose address the relay
 * has proven, and its own frames expire unforwarded.
 */

import { RELAY_HEADER_BYTES } from "./relay_frame.ts";
import {
  RELAY_DROP_NO_PATH,
  RELAY_DROP_UNTRUSTED,
  RELAY_FORWARD,
  RELAY_HELD,
  RELAY_HELD_EXPIRED,
  RELAY_HELD_RELEASED,
  type RelayTable,
} from "./relay_table.ts";

/**
 * Initiations held at once per relay edge and pool (trusted senders, unproven senders): a
 * forming mesh of nine (the NAT lab) held 49 at once; 8 slots lost 12 of them to newer ones.
 */
export const RELAY_HOLD_SLOTS = 32;
/** How long one is offered again (ms; WireGuard retries an unanswered initiation after 5 s). */
export const RELAY_HOLD_MS = 3_000;
/** A WireGuard handshake initiation's type and size. */
const INITIATION_TYPE = 1;
const INITIATION_BYTES = 148;
const FRAME_BYTES = RELAY_HEADER_BYTES + INITIATION_BYTES;
/** Both pools: slots [0, RELAY_HOLD_SLOTS) trusted senders, the rest unproven ones. */
const ALL_SLOTS = 2 * RELAY_HOLD_SLOTS;

/** Counters of the hold (status and tests). */
export interface RelayHoldStats {
  /** Initiations held because their sender's or destination's address was not proven yet. */
  held: number;
  /** Held initiations forwarded once the addresses were proven. */
  released: number;
  /** Held initiations given up (too old, or pushed out by newer ones). */
  expired: number;
}

/** The held initiations of one relay edge. */
export class RelayHold {
  /** Counters (plain fields: one writer, the edge's thread). */
  readonly stats: RelayHoldStats = { held: 0, released: 0, expired: 0 };
  readonly #frames = new Uint8Array(ALL_SLOTS * FRAME_BYTES);
  readonly #fromIps = new Uint8Array(ALL_SLOTS * 16);
  readonly #fromPorts = new Int32Array(ALL_SLOTS);
  /** When each slot was filled; -Infinity: empty. */
  readonly #heldAt = new Float64Array(ALL_SLOTS).fill(-Infinity);
  #count = 0;
  /** The table version last tried: nothing is retried until the table changes. */
  #triedVersion = -1;

  /** Frames held now. */
  get count(): number {
    return this.#count;
  }

  /**
   * After the table said RELAY_DROP_NO_PATH or RELAY_DROP_UNTRUSTED (`verdict`) for `frame`:
   * keeps it when it carries a handshake initiation (copied: the caller's buffer is free again)
   * and tells the table it was held, not dropped. True when held.
   */
  hold(
    frame: Uint8Array,
    fromIp: Uint8Array,
    fromPort: number,
    table: RelayTable,
    now: number,
    verdict: number,
  ): boolean {
    if (frame.length !== FRAME_BYTES || frame[RELAY_HEADER_BYTES] !== INITIATION_TYPE) return false;
    if (verdict !== RELAY_DROP_NO_PATH && verdict !== RELAY_DROP_UNTRUSTED) return false;
    const first = verdict === RELAY_DROP_NO_PATH ? 0 : RELAY_HOLD_SLOTS;
    let slot = first;
    for (let i = first + 1; i < first + RELAY_HOLD_SLOTS; i++) {
      if (this.#heldAt[i] < this.#heldAt[slot]) slot = i;
    }
    if (this.#heldAt[slot] !== -Infinity) this.#expire(slot, table);
    this.#frames.set(frame, slot * FRAME_BYTES);
    this.#fromIps.set(fromIp.subarray(0, 16), slot * 16);
    this.#fromPorts[slot] = fromPort;
    this.#heldAt[slot] = now;
    this.#count++;
    this.stats.held++;
    table.counted(verdict, RELAY_HELD);
    this.#triedVersion = table.version;
    return true;
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
    if (this.#count === 0) return;
    const changed = table.version !== this.#triedVersion;
    this.#triedVersion = table.version;
    for (let i = 0; i < ALL_SLOTS; i++) {
      const at = this.#heldAt[i];
      if (at === -Infinity) continue;
      if (now - at > RELAY_HOLD_MS) {
        this.#expire(i, table);
        continue;
      }
      if (!changed) continue;
      const frame = this.#frames.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES);
      const ip = this.#fromIps.subarray(i * 16, i * 16 + 16);
      const verdict = table.retry(frame, ip, this.#fromPorts[i], now);
      if (verdict === RELAY_DROP_NO_PATH || verdict === RELAY_DROP_UNTRUSTED) continue;
      this.#free(i);
      // Refused for another reason (budget, pair cap): counted as that drop by the table.
      if (verdict !== RELAY_FORWARD) continue;
      this.stats.released++;
      table.counted(-1, RELAY_HELD_RELEASED);
      send(frame);
    }
  }

  /** Gives slot `slot` up unforwarded. */
  #expire(slot: number, table: RelayTable): void {
    this.#free(slot);
    this.stats.expired++;
    table.counted(-1, RELAY_HELD_EXPIRED);
  }

  #free(slot: number): void {
    this.#heldAt[slot] = -Infinity;
    this.#count--;
  }
}
