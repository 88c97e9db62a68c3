/**
 * The simulator's agenda: integer payloads (the network's event slots) ordered by (time,
 * insertion order), so ties are deterministic. It is the hottest loop of a big run, and
 * comparing two event objects cost two cache misses each: the keys live in typed arrays
 * instead, side by side with the payload, so a sift touches nothing else.
 */

const INITIAL_CAPACITY = 1024;

/** A binary min-heap of integer payloads keyed by (at, insertion order). */
export class EventQueue {
  #at = new Float64Array(INITIAL_CAPACITY);
  // Float64: orders count every event of a run, which may pass 2^31; doubles are exact to 2^53.
  #order = new Float64Array(INITIAL_CAPACITY);
  #payload = new Int32Array(INITIAL_CAPACITY);
  #size = 0;
  #nextOrder = 0;

  /** Pending events. */
  get size(): number {
    return this.#size;
  }

  /** Time of the earliest event, or Infinity. */
  peek(): number {
    return this.#size > 0 ? this.#at[0] : Infinity;
  }

  /** Schedules `payload` at `at`, after every event already scheduled at `at`. */
  push(at: number, payload: number): void {
    this.pushOrdered(at, this.#nextOrder++, payload);
  }

  /**
   * Schedules `payload` at `at` with an explicit `order` (unique among pending events): a
   * partitioned run gives every event a key that does not depend on which thread inserted it
   * or when, so two partitions order ties exactly as one would.
   */
  pushOrdered(at: number, order: number, payload: number): void {
    if (this.#size === this.#at.length) this.#grow();
    const atKey = this.#at;
    const orderKey = this.#order;
    const payloads = this.#payload;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pa = atKey[parent];
      if (pa < at || (pa === at && orderKey[parent] < order)) break;
      atKey[i] = pa;
      orderKey[i] = orderKey[parent];
      payloads[i] = payloads[parent];
      i = parent;
    }
    atKey[i] = at;
    orderKey[i] = order;
    payloads[i] = payload;
  }

  /** Removes the earliest event and returns its payload (-1 when empty); `peek()` gave its time. */
  pop(): number {
    if (this.#size === 0) return -1;
    const atKey = this.#at;
    const orderKey = this.#order;
    const payloads = this.#payload;
    const top = payloads[0];
    const n = --this.#size;
    if (n > 0) {
      const lastAt = atKey[n];
      const lastOrder = orderKey[n];
      const lastPayload = payloads[n];
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        let child = left;
        if (right < n) {
          const ra = atKey[right];
          const la = atKey[left];
          if (ra < la || (ra === la && orderKey[right] < orderKey[left])) child = right;
        }
        const ca = atKey[child];
        if (ca > lastAt || (ca === lastAt && orderKey[child] > lastOrder)) break;
        atKey[i] = ca;
        orderKey[i] = orderKey[child];
        payloads[i] = payloads[child];
        i = child;
      }
      atKey[i] = lastAt;
      orderKey[i] = lastOrder;
      payloads[i] = lastPayload;
    }
    return top;
  }

  #grow(): void {
    const capacity = this.#at.length * 2;
    const at = new Float64Array(capacity);
    const order = new Float64Array(capacity);
    const payload = new Int32Array(capacity);
    at.set(this.#at);
    order.set(this.#order);
    payload.set(this.#payload);
    this.#at = at;
    this.#order = order;
    this.#payload = payload;
  }
}
