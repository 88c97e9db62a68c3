/**
 * Timers keyed by due time: the sans-IO engine's only notion of time is the `now` it is
 * handed, and `nextDeadline()` tells the caller when to call `tick` again.
 */

import { MinHeap } from "./min_heap.ts";

/** One scheduled callback. `cancelled` timers are skipped when they come due. */
export interface Timer {
  /** Due time (ms). */
  at: number;
  /** What to do. */
  run: () => void;
  /** Set to skip the timer. */
  cancelled: boolean;
}

/** Timers in due order, with lazy cancellation (a cancelled timer is dropped when it surfaces). */
export class TimerHeap {
  readonly #heap = new MinHeap<Timer>((a, b) => a.at < b.at);

  /** Number of timers held (including cancelled ones not yet popped). */
  get size(): number {
    return this.#heap.size;
  }

  /** Schedules `run` at `at`; returns the timer so it can be cancelled. */
  add(at: number, run: () => void): Timer {
    const timer: Timer = { at, run, cancelled: false };
    this.#heap.push(timer);
    return timer;
  }

  /** Due time of the earliest live timer, or Infinity. */
  peek(): number {
    const heap = this.#heap;
    let top = heap.peek();
    while (top !== undefined && top.cancelled) {
      heap.pop();
      top = heap.peek();
    }
    return top !== undefined ? top.at : Infinity;
  }

  /** Runs every timer due at or before `now`, in due order (timers added meanwhile included). */
  runDue(now: number): void {
    const heap = this.#heap;
    for (let top = heap.peek(); top !== undefined && top.at <= now; top = heap.peek()) {
      heap.pop();
      if (!top.cancelled) top.run();
    }
  }
}
