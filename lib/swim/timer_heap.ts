/**
 * Timers keyed by due time: the sans-IO engine's only notion of time is the `now` it is
 * handed, and `nextDeadline()` tells the caller when to call `tick` again.
 */

import { MinHeap } from "./min_heap.ts";

/** One scheduled callback. `cancelled` timers are skipped when they come due. */
export class Timer {
  /** Due time (ms). */
  readonly at: number;
  /** What to do. */
  readonly run: () => void;
  #cancelled = false;
  readonly #heap: TimerHeap;

  /** A timer held by `heap` (made by `TimerHeap.add`). */
  constructor(heap: TimerHeap, at: number, run: () => void) {
    this.#heap = heap;
    this.at = at;
    this.run = run;
  }

  /** True once cancelled: it will be skipped. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Set to skip the timer. */
  set cancelled(value: boolean) {
    this.#cancelled = value;
    this.#heap.forgetDeadline();
  }
}

/** Timers in due order, with lazy cancellation (a cancelled timer is dropped when it surfaces). */
export class TimerHeap {
  readonly #heap = new MinHeap<Timer>();
  /**
   * `peek()`'s answer while known (NaN: not known). The simulator asks after every datagram a
   * node handles; the answer rarely changed, and finding it again walked into the heap and its
   * top timer, cache misses across thousands of nodes. Known means the top is live, so a pop
   * or a cancellation forgets it; a push can only lower it.
   */
  #deadline = Infinity;

  /** Number of timers held (including cancelled ones not yet popped). */
  get size(): number {
    return this.#heap.size;
  }

  /** Schedules `run` at `at`; returns the timer so it can be cancelled. */
  add(at: number, run: () => void): Timer {
    const timer = new Timer(this, at, run);
    this.#heap.push(at, timer);
    // A timer at the same time as the top goes below it, so only an earlier one is the new top.
    if (at < this.#deadline) this.#deadline = at;
    return timer;
  }

  /** Due time of the earliest live timer, or Infinity. */
  peek(): number {
    const known = this.#deadline;
    if (known === known) return known;
    const heap = this.#heap;
    let top = heap.peek();
    while (top !== undefined && top.cancelled) {
      heap.pop();
      top = heap.peek();
    }
    return this.#deadline = top !== undefined ? top.at : Infinity;
  }

  /** Runs every timer due at or before `now`, in due order (timers added meanwhile included). */
  runDue(now: number): void {
    // A known deadline is a live top: when it is later than now, the loop would pop nothing.
    if (this.#deadline > now) return;
    const heap = this.#heap;
    while (heap.peekKey() <= now) {
      const top = heap.pop()!;
      this.#deadline = NaN;
      if (!top.cancelled) top.run();
    }
  }

  /** Drops the remembered deadline (a timer was cancelled; called by `Timer`). */
  forgetDeadline(): void {
    this.#deadline = NaN;
  }
}
