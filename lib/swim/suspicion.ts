/**
 * Lifeguard's dynamic suspicion timeout for one suspected member. It starts at `max` and
 * shrinks logarithmically towards `min` as up to `k` *independent* members confirm the
 * suspicion: timeout(c) = max(min, max − (max − min)·log(c+1)/log(k+1)). The member whose claim
 * started it (usually ourselves) does not count as a confirmation.
 */

/** The suspicion timer of one member. */
export class Suspicion {
  /** When the suspicion started. */
  readonly start: number;
  readonly #min: number;
  readonly #max: number;
  readonly #k: number;
  readonly #confirmers = new Set<string>();
  #deadline: number;

  /** `from` started the suspicion; `k` confirmations bring the timeout down to `min`. */
  constructor(from: string, k: number, min: number, max: number, start: number) {
    this.start = start;
    this.#min = min;
    this.#max = Math.max(min, max);
    this.#k = Math.max(0, Math.floor(k));
    this.#confirmers.add(from);
    this.#deadline = start + (this.#k < 1 ? this.#min : this.#max);
  }

  /** Confirmations counted so far (excluding the starter). */
  get confirmations(): number {
    return this.#confirmers.size - 1;
  }

  /** When the member is declared dead unless it refutes first. */
  get deadline(): number {
    return this.#deadline;
  }

  /** Counts a confirmation from a distinct member; true when it shortened the timeout. */
  confirm(from: string): boolean {
    if (this.confirmations >= this.#k || this.#confirmers.has(from)) return false;
    this.#confirmers.add(from);
    const c = this.confirmations;
    const fraction = Math.log(c + 1) / Math.log(this.#k + 1);
    const timeout = Math.max(this.#min, Math.floor(this.#max - (this.#max - this.#min) * fraction));
    this.#deadline = this.start + timeout;
    return true;
  }
}
