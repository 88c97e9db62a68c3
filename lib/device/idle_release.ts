/**
 * The device's idle memory release on a timer: every IDLE_CHECK_INTERVAL_MS it samples the
 * process's CPU time, and when `IdleMemoryRelief` says an idle spell has begun it hands memory
 * back: a full GC of the main isolate (`heap_collection.ts`), then `ffi/memory_release.ts`. The
 * first release is logged once.
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
      if (!this.relief.sample(performance.now(), cpuMicros())) return;
      let imageBytes: number;
      // First: what V8 frees goes back to malloc, which the release then trims.
      collectGarbage();
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
