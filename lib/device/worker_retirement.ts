/**
 * When a device retires a data worker it added under load: after the whole process has stayed
 * below a low CPU fraction for a sustained idle period, one worker goes (never the first), and
 * the next one only after another full period. The threshold is far below what makes a worker
 * ask for help (`worker_load.ts`), so a device does not shrink into a load that grows it again.
 * Sans-IO: the device's timer feeds it the time and the process's CPU time.
 */

import { BUSY_INTERVAL, CpuInterval, NO_INTERVAL } from "./cpu_interval.ts";

/** Idle period after which an added worker is retired (ms). */
export const RETIRE_IDLE_MS = 60_000;
/** CPU time below this fraction of one core over a sample counts as idle for retiring. */
export const RETIRE_CPU_FRACTION = 0.1;

/** How often to sample for an idle period of `idleMs`: six looks per period, 0.25-10 s apart. */
export function retireSampleInterval(idleMs: number): number {
  return Math.min(10_000, Math.max(250, Math.round(idleMs / 6)));
}

/** Decides, from samples of the process's CPU time, when to retire one added worker. */
export class WorkerRetirement {
  private readonly cpu: CpuInterval;
  /** Start of the current run of idle samples (NaN before the first sample). */
  private idleSince = NaN;

  constructor(
    /** The idle period (ms). */
    readonly idleMs = RETIRE_IDLE_MS,
    idleFraction = RETIRE_CPU_FRACTION,
  ) {
    if (!(idleMs > 0)) throw new RangeError(`the idle period must be above 0 ms, got ${idleMs}`);
    this.cpu = new CpuInterval(idleFraction);
  }

  /** The worker count just changed (grown or retired): a new idle period starts at `now`. */
  restart(now: number): void {
    this.idleSince = now;
  }

  /**
   * Takes one sample (`now` in ms, the process's user+system CPU time in µs); true when the
   * process has been idle for the whole period since the last change or busy sample.
   */
  sample(now: number, cpuMicros: number): boolean {
    const interval = this.cpu.sample(now, cpuMicros);
    if (Number.isNaN(this.idleSince)) this.idleSince = now;
    if (interval === NO_INTERVAL) return false;
    if (interval === BUSY_INTERVAL) {
      this.idleSince = now;
      return false;
    }
    if (now - this.idleSince < this.idleMs) return false;
    this.idleSince = now;
    return true;
  }
}
