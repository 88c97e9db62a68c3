/**
 * SWIM's infection-style dissemination buffer (memberlist's TransmitLimitedQueue): every
 * update is piggybacked on outgoing messages, least-sent first, until it has been sent
 * λ·⌈log10(N+1)⌉ times. A newer update with the same key replaces the older one, so the queue
 * holds at most one record per member plus one claim per (member, claimer), and a hard cap
 * bounds it even then.
 */

/** One pending update. */
interface Pending {
  key: string;
  bytes: Uint8Array;
  transmits: number;
  order: number;
}

/** Least-sent first, newest first among equals (orders are unique: a total order). */
function leastSentFirst(a: Pending, b: Pending): number {
  return a.transmits - b.transmits || b.order - a.order;
}

/** The transmit-limited queue of encoded items. */
export class BroadcastQueue {
  readonly #byKey = new Map<string, Pending>();
  readonly #sorted: Pending[] = [];
  #order = 0;
  readonly #cap: number;

  /** `cap` bounds the number of pending updates (the most-sent are dropped first). */
  constructor(cap = 4096) {
    this.#cap = cap;
  }

  /** Number of pending updates. */
  get size(): number {
    return this.#byKey.size;
  }

  /** Queues `bytes` under `key`, replacing whatever was queued under that key. */
  push(key: string, bytes: Uint8Array): void {
    this.#byKey.delete(key);
    this.#byKey.set(key, { key, bytes, transmits: 0, order: this.#order++ });
    if (this.#byKey.size > this.#cap) this.#evict();
  }

  /** Drops the update queued under `key`, if any. */
  remove(key: string): void {
    this.#byKey.delete(key);
  }

  /**
   * Picks updates (least-sent first, newest first among equals) whose total size fits
   * `budget` bytes, at most `maxItems`, counts one transmission each and forgets those sent
   * `limit` times. The update under `skip` (the recipient's own record) is left for others.
   */
  take(budget: number, limit: number, maxItems = 255, skip = ""): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.takeInto(out, budget, limit, maxItems, skip);
    return out;
  }

  /** `take`, appending the picks to `out` (no array of its own: this runs for every send). */
  takeInto(out: Uint8Array[], budget: number, limit: number, maxItems = 255, skip = ""): void {
    if (this.#byKey.size === 0 || budget <= 0) return;
    // One array reused across calls for the sorted snapshot (emptied after, pinning nothing).
    const all = this.#sorted;
    for (const pending of this.#byKey.values()) all.push(pending);
    all.sort(leastSentFirst);
    let taken = 0;
    let left = budget;
    for (const pending of all) {
      if (taken >= maxItems) break;
      if (pending.bytes.length > left || pending.key === skip) continue;
      out.push(pending.bytes);
      taken++;
      left -= pending.bytes.length;
      pending.transmits++;
      if (pending.transmits >= limit) this.#byKey.delete(pending.key);
      if (left < 64) break;
    }
    all.length = 0;
  }

  #evict(): void {
    let worst: Pending | null = null;
    for (const pending of this.#byKey.values()) {
      if (worst === null || pending.transmits > worst.transmits) worst = pending;
    }
    if (worst !== null) this.#byKey.delete(worst.key);
  }
}
