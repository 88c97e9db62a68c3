/**
 * The simulator's agenda: events ordered by (time, insertion order), so ties are deterministic.
 * An event is either an action or a datagram delivery; deliveries carry their fields instead
 * of a closure, since a big run schedules tens of millions of them.
 */

/** One scheduled simulator event. */
export interface SimEvent {
  /** Virtual time (ms). */
  at: number;
  /** Insertion order, breaks ties deterministically. */
  order: number;
  /** What to do when it comes due (null for a delivery). */
  fire: (() => void) | null;
  /** Delivery: source address. */
  from: string;
  /** Delivery: destination address. */
  to: string;
  /** Delivery: the datagram. */
  data: Uint8Array | null;
}

/** The simulator's agenda: a binary min-heap with the order inlined (it is the hottest loop). */
export class EventQueue {
  readonly #items: SimEvent[] = [];
  /**
   * Events handed back by `release`, reused by the next push/deliver: a big run schedules
   * tens of millions, and each fresh one (with its boxed `at`) lived long enough in the queue
   * to be copied by the young-generation collector.
   */
  readonly #free: SimEvent[] = [];
  #order = 0;

  /** Pending events. */
  get size(): number {
    return this.#items.length;
  }

  /** Schedules `fire` at `at`. */
  push(at: number, fire: () => void): void {
    this.#insert(this.#event(at, fire, "", "", null));
  }

  /** Schedules the delivery of `data` from `from` to `to` at `at`. */
  deliver(at: number, from: string, to: string, data: Uint8Array): void {
    this.#insert(this.#event(at, null, from, to, data));
  }

  /** Hands back a popped event once its caller is done with it (its fields are reused). */
  release(event: SimEvent): void {
    event.fire = null;
    event.data = null;
    this.#free.push(event);
  }

  #event(
    at: number,
    fire: (() => void) | null,
    from: string,
    to: string,
    data: Uint8Array | null,
  ): SimEvent {
    const event = this.#free.pop();
    if (event === undefined) return { at, order: this.#order++, fire, from, to, data };
    event.at = at;
    event.order = this.#order++;
    event.fire = fire;
    event.from = from;
    event.to = to;
    event.data = data;
    return event;
  }

  /** Time of the earliest event, or Infinity. */
  peek(): number {
    return this.#items.length > 0 ? this.#items[0].at : Infinity;
  }

  /** Removes and returns the earliest event. */
  pop(): SimEvent | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && before(items[right], items[left]) ? right : left;
        if (!before(items[child], last)) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }

  #insert(event: SimEvent): void {
    const items = this.#items;
    items.push(event);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(event, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = event;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
