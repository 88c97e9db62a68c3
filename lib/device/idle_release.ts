/**
 * The device's idle memory release on a timer: every IDLE_CHECK_INTERVAL_MS it samples the
 * process's CPU time, and when `IdleMemoryRelief` says an idle spell has begun it hands memory
 * back (`ffi/memory_release.ts`), after a full GC of the main isolate (`heap_collection.ts`),
 * which also runs on every later idle interval. The first release is logged once.
 */

import process from "node:process";
import { releaseIdleMemory } from "../../ffi/memory_release.ts";
import { IDLE_CHECK_INTERVAL_MS, IdleMemoryRelief } from "./idle_memory.ts";
import { collectGarbage } from "./heap_collection.ts";

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** A running idle release (one per device). */
export class IdleRelease {
  private readonly relief = new IdleMemoryRelief();
  private readonly timer: ReturnType<typeof setInterval>;
  private logged = false;

  /** Starts sampling; `log` gets the first release's line. */
  constructor(log: (message: string) => void) {
    this.relief.sample(performance.now(), cpuMicros());
    this.timer = setInterval(() => {
      const release = this.relief.sample(performance.now(), cpuMicros());
      if (!this.relief.lastIntervalIdle) return;
      // Every idle interval, and first: an idle daemon's garbage (SWIM, timers) otherwise piles
      // up until V8's next heap limit (anon 44 instead of 52-69 MiB in a 20-node mesh), and
      // what V8 frees goes back to malloc, which the release trims.
      collectGarbage();
      if (!release) return;
      let imageBytes: number;
      try {
        imageBytes = releaseIdleMemory().imageBytes;
      } catch (error) {
        // e.g. /proc hidden by a sandbox: the device runs on, only its memory stays as it is.
        clearInterval(this.timer);
        log(`idle memory release off: ${(error as Error).message}`);
        return;
      }
      if (this.logged) return;
      this.logged = true;
      log(
        `idle: released start-up memory (malloc arenas trimmed, ${
          (imageBytes / 1048576).toFixed(1)
        } MiB of the executable's pages dropped); again after each busy spell or reconfiguration`,
      );
    }, IDLE_CHECK_INTERVAL_MS);
  }

  /** A configuration change: release again at the next idle interval. */
  arm(): void {
    this.relief.arm();
  }

  /** Stops the timer. */
  stop(): void {
    clearInterval(this.timer);
  }
}
