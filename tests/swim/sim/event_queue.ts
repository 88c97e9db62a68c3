/** A binary min-heap of simulator events ordered by (time, insertion order): deterministic ties. */

/** One scheduled simulator event. */
export interface SimEvent {
  /** Virtual time (ms). */
  at: number;
  /** Insertion order, breaks ties deterministically. */
  order: number;
  /** What to do when it comes due. */
  fire: () => void;
}

/** The simulator's agenda. */
export class EventQueue {
  readonly #heap: SimEvent[] = [];
  #order = 0;

  /** Pending events. */
  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `fire` at `at`. */
  push(at: number, fire: () => void): void {
    const event = { at, order: this.#order++, fire };
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(event, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = event;
  }

  /** Time of the earliest event, or Infinity. */
  peek(): number {
    return this.#heap.length > 0 ? this.#heap[0].at : Infinity;
  }

  /** Removes and returns the earliest event. */
  pop(): SimEvent | undefined {
    const heap = this.#heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && less(heap[right], heap[left]) ? right : left;
        if (!less(heap[child], last)) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

function less(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
