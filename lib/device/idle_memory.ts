/**
 * When a device hands its spare memory back (ffi/memory_release.ts): once it has gone quiet after
 * start-up, a busy spell or a configuration change, judged from the process's CPU time, so a device under load never
 * pays for faulting its code back in. Sans-IO: the device's timer feeds it the time and the CPU
 * time and does the release when told to.
 */

import { BUSY_INTERVAL, CpuInterval, NO_INTERVAL } from "./cpu_interval.ts";

/** Interval between two looks at the CPU time (ms). */
export const IDLE_CHECK_INTERVAL_MS = 20_000;
/** CPU time below this fraction of one core over an interval counts as idle. */
export const IDLE_CPU_FRACTION = 0.05;

/** Decides, from samples of the process's CPU time, when an idle spell has begun. */
export class IdleMemoryRelief {
  private readonly cpu: CpuInterval;
  /** True until the first release, and again after every busy interval. */
  private pending = true;
  private idle = false;

  constructor(idleFraction = IDLE_CPU_FRACTION) {
    this.cpu = new CpuInterval(idleFraction);
  }

  /**
   * Asks for a release at the next idle interval even if the CPU stayed low: a configuration
   * change (a hundred peers through UAPI) leaves parser garbage in the malloc arenas.
   */
  arm(): void {
    this.pending = true;
  }

  /** Whether the interval the last sample closed was idle (false before two samples). */
  get lastIntervalIdle(): boolean {
    return this.idle;
  }

  /**
   * Takes one sample (`now` in ms, the process's user+system CPU time in µs) and returns true
   * when memory should be released now: the interval since the last sample was idle, and the
   * device has been busy (or just started) since the last release.
   */
  sample(now: number, cpuMicros: number): boolean {
    const interval = this.cpu.sample(now, cpuMicros);
    this.idle = false;
    if (interval === NO_INTERVAL) return false;
    if (interval === BUSY_INTERVAL) {
      this.pending = true;
      return false;
    }
    this.idle = true;
    if (!this.pending) return false;
    this.pending = false;
    return true;
  }
}
