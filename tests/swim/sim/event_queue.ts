/** The simulator's agenda: events ordered by (time, insertion order), so ties are deterministic. */

import { MinHeap } from "../../../lib/swim/min_heap.ts";

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
  readonly #heap = new MinHeap<SimEvent>(less);
  #order = 0;

  /** Pending events. */
  get size(): number {
    return this.#heap.size;
  }

  /** Schedules `fire` at `at`. */
  push(at: number, fire: () => void): void {
    this.#heap.push({ at, order: this.#order++, fire });
  }

  /** Time of the earliest event, or Infinity. */
  peek(): number {
    return this.#heap.peek()?.at ?? Infinity;
  }

  /** Removes and returns the earliest event. */
  pop(): SimEvent | undefined {
    return this.#heap.pop();
  }
}

function less(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order);
}
