/**
 * The process's CPU use between two samples, as a fraction of one core: what the idle release
 * (`idle_memory.ts`) and worker retirement (`worker_retirement.ts`) both judge idleness by.
 */

/** Turns successive (time, CPU time) samples into the CPU fraction of each interval. */
export class CpuInterval {
  private lastAt = NaN;
  private lastCpuMicros = NaN;

  /**
   * Takes one sample (`now` in ms, the process's user+system CPU time in µs) and returns the
   * fraction of one core used since the previous sample, or NaN when there is no interval yet.
   */
  sample(now: number, cpuMicros: number): number {
    const elapsedMicros = (now - this.lastAt) * 1000;
    const used = cpuMicros - this.lastCpuMicros;
    this.lastAt = now;
    this.lastCpuMicros = cpuMicros;
    return elapsedMicros > 0 ? used / elapsedMicros : NaN;
  }
}
