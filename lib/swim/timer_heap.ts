/**
 * A binary min-heap of timers keyed by due time: the sans-IO engine's only notion of time is
 * the `now` it is handed, and `nextDeadline()` tells the caller when to call `tick` again.
 */

/** One scheduled callback. `cancelled` timers are skipped when they come due. */
export interface Timer {
  /** Due time (ms). */
  at: number;
  /** What to do. */
  run: () => void;
  /** Set to skip the timer. */
  cancelled: boolean;
}

/** A min-heap of timers. */
export class TimerHeap {
  readonly #heap: Timer[] = [];

  /** Number of timers held (including cancelled ones not yet popped). */
  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `run` at `at`; returns the timer so it can be cancelled. */
  add(at: number, run: () => void): Timer {
    const timer: Timer = { at, run, cancelled: false };
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].at <= at) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = timer;
    return timer;
  }

  /** Due time of the earliest live timer, or Infinity. */
  peek(): number {
    while (this.#heap.length > 0 && this.#heap[0].cancelled) this.#pop();
    return this.#heap.length > 0 ? this.#heap[0].at : Infinity;
  }

  /** Runs every timer due at or before `now`, in due order (timers added meanwhile included). */
  runDue(now: number): void {
    while (this.#heap.length > 0 && this.#heap[0].at <= now) {
      const timer = this.#pop();
      if (!timer.cancelled) timer.run();
    }
  }

  #pop(): Timer {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && heap[right].at < heap[left].at ? right : left;
        if (heap[child].at >= last.at) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
