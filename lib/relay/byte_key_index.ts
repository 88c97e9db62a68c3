/**
 * A fixed-size open-addressing map from fixed-length byte keys to small integers, for a data
 * worker's hot path: lookups allocate nothing. Built once per membership change (no deletion);
 * the hash is seeded per process so nobody can aim collisions.
 */

/** Maps keys of `keyBytes` bytes to slot numbers (≥ 0); -1 means absent. */
export class ByteKeyIndex {
  private readonly keys: Uint8Array;
  private readonly values: Int32Array;
  private readonly mask: number;
  private readonly seed: number;

  /** An empty index for up to `maxEntries` keys. */
  constructor(readonly keyBytes: number, maxEntries: number, seed?: number) {
    let capacity = 4;
    while (capacity < maxEntries * 2) capacity *= 2;
    this.keys = new Uint8Array(capacity * keyBytes);
    this.values = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    this.seed = seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
  }

  /** Adds `key` (its first keyBytes bytes) → `value`; false when the key is already there. */
  insert(key: Uint8Array, value: number): boolean {
    let i = this.hash(key);
    while (this.values[i] !== -1) {
      if (this.equals(i, key)) return false;
      i = (i + 1) & this.mask;
    }
    this.keys.set(key.subarray(0, this.keyBytes), i * this.keyBytes);
    this.values[i] = value;
    return true;
  }

  /** The value stored for `key`, or -1. */
  lookup(key: Uint8Array): number {
    return this.lookupAt(key, 0);
  }

  /** The value stored for the key at `bytes[at, at + keyBytes)`, or -1 (no view needed). */
  lookupAt(bytes: Uint8Array, at: number): number {
    let i = this.hash(bytes, at);
    while (this.values[i] !== -1) {
      if (this.equals(i, bytes, at)) return this.values[i];
      i = (i + 1) & this.mask;
    }
    return -1;
  }

  private equals(slot: number, key: Uint8Array, at = 0): boolean {
    const base = slot * this.keyBytes;
    for (let j = 0; j < this.keyBytes; j++) if (this.keys[base + j] !== key[at + j]) return false;
    return true;
  }

  private hash(key: Uint8Array, at = 0): number {
    let h = this.seed ^ 0x811c9dc5;
    for (let j = 0; j < this.keyBytes; j++) h = Math.imul(h ^ key[at + j], 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return ((h ^ (h >>> 16)) >>> 0) & this.mask;
  }
}
