/**
 * A binary min-heap of items under numeric keys, for the engine's timers. The keys sit in a
 * typed array beside the items, so sifting compares numbers in one contiguous block instead of
 * loading every item (and its boxed key) it passes.
 */

const INITIAL_CAPACITY = 16;

/** A min-heap of `T` by key; equal keys come out in an order fixed by the push/pop sequence. */
export class MinHeap<T> {
  #keys = new Float64Array(INITIAL_CAPACITY);
  readonly #items: (T | undefined)[] = [];
  #size = 0;

  /** Number of items held. */
  get size(): number {
    return this.#size;
  }

  /** Key of the smallest item, or Infinity when empty. */
  peekKey(): number {
    return this.#size > 0 ? this.#keys[0] : Infinity;
  }

  /** The smallest item, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.#size > 0 ? this.#items[0] : undefined;
  }

  /** Adds `item` under `key` (after its equals only as the heap's shape has it). */
  push(key: number, item: T): void {
    if (this.#size === this.#keys.length) this.#grow();
    const keys = this.#keys;
    const items = this.#items;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!(key < keys[parent])) break;
      keys[i] = keys[parent];
      items[i] = items[parent];
      i = parent;
    }
    keys[i] = key;
    items[i] = item;
  }

  /** Removes and returns the smallest item; undefined when empty. */
  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const keys = this.#keys;
    const items = this.#items;
    const top = items[0];
    const n = --this.#size;
    const lastKey = keys[n];
    const last = items[n];
    items[n] = undefined;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && keys[right] < keys[left] ? right : left;
        if (!(keys[child] < lastKey)) break;
        keys[i] = keys[child];
        items[i] = items[child];
        i = child;
      }
      keys[i] = lastKey;
      items[i] = last;
    }
    return top;
  }

  #grow(): void {
    const keys = new Float64Array(this.#keys.length * 2);
    keys.set(this.#keys);
    this.#keys = keys;
  }
}
