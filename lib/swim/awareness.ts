/**
 * Lifeguard's local health awareness (LHA): a score from 0 (healthy) to max−1 that rises when
 * we miss nacks or must refute a suspicion of ourselves and falls on every successful probe.
 * Probe interval and probe timeout are multiplied by score+1, so a node whose own network or
 * CPU is struggling slows down instead of accusing healthy members.
 */

/** The health score and the timeout scaling it implies. */
export class Awareness {
  #score = 0;
  readonly #max: number;

  /** `maxMultiplier` is Lifeguard's cap on the multiplier (memberlist: 8). */
  constructor(maxMultiplier: number) {
    this.#max = Math.max(1, Math.floor(maxMultiplier));
  }

  /** The current score (0 = healthy). */
  get score(): number {
    return this.#score;
  }

  /** Adds `delta` (negative on success), clamped to [0, max−1]. */
  apply(delta: number): void {
    this.#score = Math.min(this.#max - 1, Math.max(0, this.#score + delta));
  }

  /** Scales a base timeout by the current health: base · (score + 1). */
  scale(base: number): number {
    return base * (this.#score + 1);
  }
}
