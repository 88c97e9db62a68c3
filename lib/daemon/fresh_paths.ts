/**
 * Handshakes on paths that just became usable (issue 13). When a peer gets a new WireGuard
 * endpoint (a relayed route, a punched direct path) or more relays it accepts frames from, the
 * node asks the device for a handshake at once, and again FRESH_PATH_RETRIES_MS later while no
 * session is up: the first initiation on a new path is easily lost (the far end had not set up
 * its route for us yet, or its data threads had not yet copied the new bindings), and WireGuard
 * itself would retry only after REKEY_TIMEOUT (5 s). The device's engine skips every ask once a
 * session is current, so a working path costs nothing more. Sans-IO: keys and `now` in, keys out.
 */

import { encodeHex } from "../encoding/base64.ts";

/** When after a path became usable the handshake is asked for again (ms; < REKEY_TIMEOUT). */
export const FRESH_PATH_RETRIES_MS: readonly number[] = [1_000, 2_500];

interface Fresh {
  key: Uint8Array;
  /** Index into FRESH_PATH_RETRIES_MS of the next ask. */
  next: number;
  /** When the path became usable (null: not yet armed with a time). */
  since: number | null;
}

/** The peers whose path is fresh, and when each is asked for a handshake again. */
export class FreshPaths {
  readonly #fresh = new Map<string, Fresh>();
  #unarmed = 0;

  /** Peer `wireguardKey` has a new usable path (its retries are timed from the next `arm`). */
  usable(wireguardKey: Uint8Array): void {
    this.#fresh.set(encodeHex(wireguardKey), { key: wireguardKey, next: 0, since: null });
    this.#unarmed++;
  }

  /** Starts the clock of the paths made usable since the last call. */
  arm(now: number): void {
    if (this.#unarmed === 0) return;
    this.#unarmed = 0;
    for (const fresh of this.#fresh.values()) fresh.since ??= now;
  }

  /** The peers to ask for a handshake again at `now` (each at most once per call). */
  due(now: number): Uint8Array[] {
    const keys: Uint8Array[] = [];
    for (const [id, fresh] of this.#fresh) {
      if (fresh.since === null || fresh.since + FRESH_PATH_RETRIES_MS[fresh.next] > now) continue;
      keys.push(fresh.key);
      while (
        fresh.next < FRESH_PATH_RETRIES_MS.length &&
        fresh.since + FRESH_PATH_RETRIES_MS[fresh.next] <= now
      ) fresh.next++;
      if (fresh.next === FRESH_PATH_RETRIES_MS.length) this.#fresh.delete(id);
    }
    return keys;
  }

  /** The next ask (Infinity: none). */
  nextDeadline(): number {
    let at = Infinity;
    for (const fresh of this.#fresh.values()) {
      if (fresh.since !== null) {
        at = Math.min(at, fresh.since + FRESH_PATH_RETRIES_MS[fresh.next]);
      }
    }
    return at;
  }

  /** Paths still watched. */
  get size(): number {
    return this.#fresh.size;
  }
}
