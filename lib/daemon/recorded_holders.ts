/**
 * The recorded holders a claims table keeps across restarts (mesh IPv4 or mesh name → hex key
 * id), with a "changed since last saved" flag: what `ipv4_holders` and `name_holders` hold.
 * Under --open every member ever seen would leave a record, so the table is bounded: past
 * `limit`, records of keys nobody claims right now are forgotten, least recently seen first. A
 * record whose key is claimed (its holder present, or others waiting while it is away) is never
 * dropped, so forgetting one changes no decision and no present holder can be displaced.
 */

/** Records kept before those of unclaimed keys are forgotten (4 × the default --open member cap). */
export const RECORDED_HOLDERS_LIMIT = 4096;

/** Whether some member claims `key` (an address or name) right now. */
export type KeyClaimed = (key: string) => boolean;

/** Recorded holders and whether they changed since they were last taken for saving. */
export class RecordedHolders {
  /** In recency order: the least recently seen holder first. */
  #records = new Map<string, string>();
  #changed = false;
  readonly #claimed: KeyClaimed;
  readonly #limit: number;

  /** A table that forgets records of unclaimed keys once it holds more than `limit`. */
  constructor(claimed: KeyClaimed, limit = RECORDED_HOLDERS_LIMIT) {
    this.#claimed = claimed;
    this.#limit = limit;
  }

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

  /** Records `id` as the holder of `key` (the most recently seen); past the limit, forgets. */
  set(key: string, id: string): void {
    this.#records.delete(key);
    this.#records.set(key, id);
    this.#changed = true;
    if (this.#records.size > this.#limit) this.#forgetUnclaimed();
  }

  /** The holder of `key` was just seen (it is leaving now): its record is kept the longest. */
  seen(key: string): void {
    const id = this.#records.get(key);
    if (id === undefined) return;
    this.#records.delete(key);
    this.#records.set(key, id);
  }

  /** How many records there are. */
  get size(): number {
    return this.#records.size;
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

  #forgetUnclaimed(): void {
    for (const key of this.#records.keys()) {
      if (this.#records.size <= this.#limit) return;
      if (this.#claimed(key)) continue;
      this.#records.delete(key);
      this.#changed = true;
    }
  }

  /** The records when they changed since the last call (for saving), else null. */
  takeChanged(): ReadonlyMap<string, string> | null {
    if (!this.#changed) return null;
    this.#changed = false;
    return new Map(this.#records);
  }
}
