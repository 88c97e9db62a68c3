/**
 * A token bucket on virtual time, used before any expensive work an outsider can trigger
 * (Hello signature checks): security invariant 4, cheap checks before expensive ones.
 */

/** A token bucket refilled at `ratePerSecond`, holding at most `burst` tokens. */
export class TokenBucket {
  #tokens: number;
  #last = -Infinity;
  readonly #rate: number;
  readonly #burst: number;

  /** A full bucket. */
  constructor(ratePerSecond: number, burst: number) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
  }

  /** Takes one token at time `now` (ms); false when the bucket is empty. */
  take(now: number): boolean {
    if (this.#last !== -Infinity) this.#tokens = Math.min(this.#burst, this.#refilled(now));
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * True when the bucket holds `burst` tokens at `now`, and so at any later time: from then on it
   * behaves exactly as a new one (what `take` computes rises with `now`; IEEE rounding keeps
   * that), and its owner may drop it and make a new one when next needed.
   */
  isFull(now: number): boolean {
    return this.#last === -Infinity || this.#refilled(now) >= this.#burst;
  }

  /** Tokens at `now` before the cap: one expression for `take` and `isFull`, so they agree. */
  #refilled(now: number): number {
    return this.#tokens + (now - this.#last) * this.#rate / 1000;
  }
}
