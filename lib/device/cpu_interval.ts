/**
 * Whether the process was busy between two looks at its CPU time: the one measurement behind
 * both the idle memory release (idle_memory.ts) and worker retirement (worker_retirement.ts).
 * Sans-IO: the caller feeds it the time and the process's user+system CPU time.
 */

/** The first sample, or a clock that did not move: no interval to judge. */
export const NO_INTERVAL = -1;
/** The interval stayed at or below the fraction of one core. */
export const IDLE_INTERVAL = 0;
/** The interval used more than the fraction of one core. */
export const BUSY_INTERVAL = 1;

/** Judges each interval between consecutive CPU-time samples against a fraction of one core. */
export class CpuInterval {
  #lastAt = NaN;
  #lastCpuMicros = NaN;
  readonly #busyFraction: number;

  /** Intervals using more than `busyFraction` of one core count as busy. */
  constructor(busyFraction: number) {
    this.#busyFraction = busyFraction;
  }

  /**
   * Takes one sample (`now` in ms, the process's CPU time in µs) and judges the interval since
   * the previous one: NO_INTERVAL, IDLE_INTERVAL or BUSY_INTERVAL.
   */
  sample(now: number, cpuMicros: number): number {
    const elapsedMicros = (now - this.#lastAt) * 1000;
    const used = cpuMicros - this.#lastCpuMicros;
    this.#lastAt = now;
    this.#lastCpuMicros = cpuMicros;
    if (!(elapsedMicros > 0)) return NO_INTERVAL;
    return used > this.#busyFraction * elapsedMicros ? BUSY_INTERVAL : IDLE_INTERVAL;
  }
}
