/**
 * One bit per listed index of a MemberTable, kept with its entry when the table moves it. The
 * punch scan (punch.ts) reads these instead of the entries: a clear bit says the scan has nothing
 * to do for that entry, so a tick that would look at 64 entries (64 cache misses a node a
 * second) visits only the few that may want a punch. 32 entries a word: ~0.13 byte a pair.
 */

/** A growable bitset addressed by listed index. */
export class ListedBits {
  #words = new Int32Array(4);

  /** Sets the bit of `index` (≥ 0). */
  set(index: number): void {
    const word = index >>> 5;
    if (word >= this.#words.length) this.#grow(word);
    this.#words[word] |= 1 << (index & 31);
  }

  /** Clears the bit of `index`. */
  clear(index: number): void {
    const word = index >>> 5;
    if (word < this.#words.length) this.#words[word] &= ~(1 << (index & 31));
  }

  /** True when the bit of `index` is set. */
  has(index: number): boolean {
    const word = index >>> 5;
    return word < this.#words.length && (this.#words[word] & (1 << (index & 31))) !== 0;
  }

  /** The entry at `from` moved to `to` (`from` is vacated): its bit goes along. */
  move(from: number, to: number): void {
    if (this.has(from)) this.set(to);
    else this.clear(to);
    this.clear(from);
  }

  /** The lowest set index in [from, end), or -1. */
  next(from: number, end: number): number {
    const words = this.#words;
    const limit = Math.min(end, words.length * 32);
    let at = from;
    while (at < limit) {
      const word = at >>> 5;
      // Bits below `at` in its word are masked off; a zero word is skipped whole.
      const bits = words[word] & (-1 << (at & 31));
      if (bits !== 0) {
        const found = (word << 5) + 31 - Math.clz32(bits & -bits);
        return found < limit ? found : -1;
      }
      at = (word + 1) << 5;
    }
    return -1;
  }

  #grow(word: number): void {
    // 1.5×, as the listed columns grow: one word covers 32 members.
    const grown = new Int32Array(Math.max(word + 1, Math.ceil(this.#words.length * 1.5)));
    grown.set(this.#words);
    this.#words = grown;
  }
}
