/**
 * How busy a data worker is, from the time its loop spends waiting in poll: a worker that works
 * through most of a window asks for help (the device starts another worker, up to its maximum).
 * Sans-IO: the loop reports each wait and the time; this says when to ask.
 */

/** Length of one load window (ms). */
export const LOAD_WINDOW_MS = 250;
/** A window in which the worker waited less than this fraction of the time is a busy one. */
export const BUSY_FRACTION = 0.5;
/** Least time between two requests for help from one worker (ms). */
export const BUSY_REPEAT_MS = 1000;

/** One worker's load windows. */
export class WorkerLoad {
  private windowStart = NaN;
  private waited = 0;
  private askedAt = -Infinity;

  /** Notes `ms` spent waiting in poll. */
  waitedFor(ms: number): void {
    this.waited += ms;
  }

  /**
   * Closes the window when it is over; returns true when it was busy and the worker has not
   * asked for help in the last BUSY_REPEAT_MS.
   */
  busyAt(now: number): boolean {
    if (Number.isNaN(this.windowStart)) {
      this.windowStart = now;
      this.waited = 0;
      return false;
    }
    const elapsed = now - this.windowStart;
    if (elapsed < LOAD_WINDOW_MS) return false;
    const busy = this.waited < (1 - BUSY_FRACTION) * elapsed;
    this.windowStart = now;
    this.waited = 0;
    if (!busy || now - this.askedAt < BUSY_REPEAT_MS) return false;
    this.askedAt = now;
    return true;
  }
}
