/**
 * Per-member replay protection for SWIM datagrams: the highest counter accepted plus a 32-bit
 * bitmap of the ones just below it (RFC 6479 style, small because SWIM traffic between one
 * pair is sparse). Keyed to the sender's boot epoch: a newer epoch (after the AEAD proved it)
 * starts a fresh window, an older one is always refused.
 */

/** Window width: counters more than this far below the highest are refused. */
export const REPLAY_WINDOW_BITS = 32;

/** Replay state of one sending member. */
export class SessionReplayWindow {
  /** Sender epoch this window belongs to (0 = nothing accepted yet). */
  epoch = 0;
  /** Highest counter accepted in `epoch` (-1 = none). */
  highest = -1;
  /**
   * Bit i set = counter `highest - 1 - i` was accepted. Kept as a signed 32-bit integer (bit 31
   * makes it negative): an unsigned value ≥ 2^31 would be a boxed double in every window.
   */
  mask = 0;

  /** True when (epoch, counter) is fresh; does not record it (call `accept` after the AEAD). */
  check(epoch: number, counter: number): boolean {
    if (epoch < this.epoch) return false;
    if (epoch > this.epoch || counter > this.highest) return true;
    if (counter === this.highest) return false;
    const distance = this.highest - counter - 1;
    if (distance >= REPLAY_WINDOW_BITS) return false;
    return (this.mask & (1 << distance)) === 0;
  }

  /** Records (epoch, counter) as seen; only call after `check` and authentication passed. */
  accept(epoch: number, counter: number): void {
    if (epoch > this.epoch) {
      this.epoch = epoch;
      this.highest = counter;
      this.mask = 0;
      return;
    }
    if (counter > this.highest) {
      const shift = counter - this.highest;
      this.mask = shift > REPLAY_WINDOW_BITS
        ? 0
        : shift === REPLAY_WINDOW_BITS
        ? 1 << 31
        : (this.mask << shift) | (1 << (shift - 1));
      this.highest = counter;
      return;
    }
    this.mask = this.mask | (1 << (this.highest - counter - 1));
  }
}
