/**
 * The main thread's clock for a device's WireGuard engine: one timer armed for the engine's next
 * deadline (or the activity poll, while any peer is configured), and queued handshakes worked
 * through a bounded slice at a time so a flood of them cannot starve the event loop.
 */

import type { WireguardEngine } from "../wireguard/engine.ts";

/**
 * How often the main thread looks at the activity the workers record while any peer is
 * configured. The keepalive and new-handshake timers are derived from it (10 s and 15 s), so half
 * a second of lateness is invisible; an idle device wakes twice a second.
 */
const ACTIVITY_POLL_MS = 500;

/** Drives one engine's timers and handshake queue while `running` holds. */
export class EngineClock {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #pumping = false;

  /** A clock for `engine`; `running` turns false once the device failed or is stopping. */
  constructor(
    private readonly engine: WireguardEngine,
    private readonly running: () => boolean,
  ) {}

  /** Works through queued handshakes a bounded slice at a time, yielding between slices. */
  pumpHandshakes(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    const step = () => {
      this.engine.processHandshakes(performance.now());
      if (this.engine.queuedHandshakes > 0 && this.running()) {
        setTimeout(step, 0);
      } else {
        this.#pumping = false;
        this.schedule();
      }
    };
    step();
  }

  /** Arms the timer for the engine's next deadline (and the activity poll). */
  schedule(): void {
    if (!this.running()) return;
    const now = performance.now();
    const deadline = this.engine.nextDeadline();
    let at = deadline ?? Infinity;
    if (this.engine.peerCount > 0) at = Math.min(at, now + ACTIVITY_POLL_MS);
    if (at >= this.#timerAt && this.#timer !== undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.engine.tick(performance.now());
      this.schedule();
    }, Math.max(0, Math.ceil(at - now)));
  }

  /** Disarms the timer (the device failed or stops). */
  stop(): void {
    clearTimeout(this.#timer);
  }
}
