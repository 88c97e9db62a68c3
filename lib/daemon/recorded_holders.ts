/**
 * The recorded holders a claims table keeps across restarts (mesh IPv4 or mesh name → hex key
 * id), with a "changed since last saved" flag: what `ipv4_holders` and `name_holders` hold.
 */

/** Recorded holders and whether they changed since they were last taken for saving. */
export class RecordedHolders {
  #records = new Map<string, string>();
  #changed = false;

  /** Replaces the records (start-up), without the keys in `own` (ours, never recorded). */
  load(records: ReadonlyMap<string, string>, own: readonly (string | null)[]): void {
    this.#records = new Map(records);
    for (const key of own) if (key !== null) this.#records.delete(key);
    this.#changed = false;
  }

  /** The recorded holder of `key`, if any. */
  get(key: string): string | undefined {
    return this.#records.get(key);
  }

  /** Records `id` as the holder of `key`. */
  set(key: string, id: string): void {
    this.#records.set(key, id);
    this.#changed = true;
  }

  /** Forgets the holder of `key`; true when there was one. */
  delete(key: string): boolean {
    const deleted = this.#records.delete(key);
    if (deleted) this.#changed = true;
    return deleted;
  }

  /** Every record (key → id). */
  entries(): IterableIterator<[string, string]> {
    return this.#records.entries();
  }

  /** True when the records changed since `takeChanged` last returned them. */
  get changed(): boolean {
    return this.#changed;
  }

  /** Marks the records as changed again (saving them failed: the next change retries). */
  notSaved(): void {
    this.#changed = true;
  }

  /** The records when they changed since the last call (for saving), else null. */
  takeChanged(): ReadonlyMap<string, string> | null {
    if (!this.#changed) return null;
    this.#changed = false;
    return new Map(this.#records);
  }
}
