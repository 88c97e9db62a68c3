/**
 * An open-addressing index from a member's key id to a small integer (its listed index), in
 * one Int32Array: 5–11 bytes a member where a Map entry costs ~36 and a lookup hashes the
 * whole 32-character id again (every datagram makes a fresh id string, so V8's cached hash
 * never helps). The index stores no keys: a value is a position in its owner's array of
 * entries, and a probe compares with that entry's id.
 *
 * Hashing: the first 8 bytes of the key mixed with a random per-index seed. Keys enter only
 * once authenticated, but with `--open` anyone can mint keys; an attacker who cannot see the
 * seed cannot aim keys at one probe chain (a chosen 8-byte prefix costs ~2^64 key
 * generations), and the member cap bounds the table anyway.
 */

const EMPTY = 0;
const FIRST_CAPACITY = 16;
/** A slot holds value + 1 in its low 17 bits and 14 bits of the key's hash above them. */
const VALUE_BITS = 17;
const VALUE_MASK = (1 << VALUE_BITS) - 1;
const TAG_MASK = (1 << 14) - 1;
/** Largest value the index stores (the member cap is 65,536). */
export const MAX_KEY_INDEX_VALUE = VALUE_MASK - 1;

/** Something with a key id (a Member, a record). */
export interface Keyed {
  /** The key id. */
  readonly id: string;
}

/** Maps key ids to positions in an array of entries the owner keeps (value = position). */
export class KeyIndex {
  /**
   * Per slot: value + 1 and a hash tag, so a probe past other keys compares 14 bits instead of
   * fetching their entries (misses, as on every first record, walk ~8 slots at 3/4 full);
   * EMPTY = free. Linear probing, backward-shift deletion.
   */
  #slots = new Int32Array(FIRST_CAPACITY);
  #mask = FIRST_CAPACITY - 1;
  #count = 0;
  readonly #entries: readonly Keyed[];
  readonly #seedA: number;
  readonly #seedB: number;

  /** An empty index over `entries` (the owner's array: value v stands for `entries[v].id`). */
  constructor(entries: readonly Keyed[]) {
    this.#entries = entries;
    const seed = crypto.getRandomValues(new Int32Array(2));
    this.#seedA = seed[0];
    this.#seedB = seed[1] | 1;
  }

  /** Keys in the index. */
  get size(): number {
    return this.#count;
  }

  /** The value stored for `id`, or -1. */
  get(id: string): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const hash = this.#hash(id);
    const tag = (hash >>> 18) & TAG_MASK;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const stored = slots[i];
      if (stored === EMPTY) return -1;
      if (stored >>> VALUE_BITS !== tag) continue;
      const value = (stored & VALUE_MASK) - 1;
      if (this.#entries[value].id === id) return value;
    }
  }

  /** Stores `value` for `id`, which must not be in the index yet. */
  add(id: string, value: number): void {
    if (!(value >= 0 && value <= MAX_KEY_INDEX_VALUE)) {
      throw new RangeError(`KeyIndex: value ${value} is outside 0..${MAX_KEY_INDEX_VALUE}`);
    }
    // Up to 3/4 full: a hit (nearly every lookup) then takes ~2.5 probes, and the table
    // stays 5–11 bytes a member (it is held per node per member: 10^8 at 10,000 members).
    if ((this.#count + 1) * 4 > this.#slots.length * 3) this.#grow();
    this.#place(id, value);
    this.#count++;
  }

  /** Replaces the value of `id` (in the index) by `value`, whose entry must have that id. */
  move(id: string, value: number): void {
    const at = this.#find(id);
    this.#slots[at] = (this.#slots[at] & ~VALUE_MASK) | (value + 1);
  }

  /** Removes `id` (in the index). */
  delete(id: string): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let hole = this.#find(id);
    // Backward shift: pull later entries of the chain into the hole unless that would put one
    // before its home slot, so lookups never need deletion markers.
    for (let i = (hole + 1) & mask; slots[i] !== EMPTY; i = (i + 1) & mask) {
      const home = this.#hash(this.#entries[(slots[i] & VALUE_MASK) - 1].id) & mask;
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        slots[hole] = slots[i];
        hole = i;
      }
    }
    slots[hole] = EMPTY;
    this.#count--;
  }

  #find(id: string): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = this.#hash(id) & mask;; i = (i + 1) & mask) {
      const stored = slots[i];
      if (stored === EMPTY) throw new Error(`KeyIndex: key not in the index`);
      if (this.#entries[(stored & VALUE_MASK) - 1].id === id) return i;
    }
  }

  #place(id: string, value: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    const hash = this.#hash(id);
    let i = hash & mask;
    while (slots[i] !== EMPTY) i = (i + 1) & mask;
    slots[i] = (((hash >>> 18) & TAG_MASK) << VALUE_BITS) | (value + 1);
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Int32Array(old.length * 2);
    this.#mask = this.#slots.length - 1;
    for (const stored of old) {
      if (stored !== EMPTY) {
        const value = (stored & VALUE_MASK) - 1;
        this.#place(this.#entries[value].id, value);
      }
    }
  }

  /** The key's 32-bit hash: its low bits pick the home slot, bits 18–31 are the tag. */
  #hash(id: string): number {
    let a = (id.charCodeAt(0) | (id.charCodeAt(1) << 8) | (id.charCodeAt(2) << 16) |
      (id.charCodeAt(3) << 24)) ^ this.#seedA;
    const b = (id.charCodeAt(4) | (id.charCodeAt(5) << 8) | (id.charCodeAt(6) << 16) |
      (id.charCodeAt(7) << 24)) ^ this.#seedB;
    a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b, 0x9e3779b1);
    a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
    return a ^ (a >>> 16);
  }
}
