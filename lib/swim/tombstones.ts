/**
 * Tombstones: what outlives a forgotten member, enough to refuse everything it sent us before
 * (issue 11, finding 4: a replay window dropped with the member let every captured datagram in
 * again). Bounded; the oldest goes first, and its session slot with it.
 */

import type { SessionTable } from "./session_table.ts";

/** Forgotten members whose session (replay windows, Hello position) we still remember. */
export const MAX_TOMBSTONES = 65_536;

/** What outlives a forgotten member. */
export interface Tombstone {
  /** Its SessionTable slot: the replay window of its datagrams and its last Hello's position. */
  session: number;
  /** The highest boot epoch we knew for it. */
  latestEpoch: number;
}

/** The tombstones of one node's forgotten members, by key id, oldest first. */
export class Tombstones {
  readonly #byId = new Map<string, Tombstone>();
  readonly #sessions: SessionTable;

  /** Tombstones whose slots live in `sessions` (closed when a tombstone goes for good). */
  constructor(sessions: SessionTable) {
    this.#sessions = sessions;
  }

  /** Tombstones held. */
  get size(): number {
    return this.#byId.size;
  }

  /** The tombstone of key id `id`, if any. */
  get(id: string): Tombstone | undefined {
    return this.#byId.get(id);
  }

  /** True when key id `id` has a tombstone. */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Drops `id`'s tombstone, keeping its slot (its member is back and owns it). */
  revive(id: string): void {
    this.#byId.delete(id);
  }

  /**
   * Buries key id `id` with session slot `session` as the newest tombstone: an older one of the
   * same key gives its slot back unless it is the same slot, and at MAX_TOMBSTONES the oldest
   * goes with its slot.
   */
  bury(id: string, session: number, latestEpoch: number): void {
    const old = this.#byId.get(id);
    if (old !== undefined && old.session !== session) this.#sessions.close(old.session);
    this.#byId.delete(id);
    if (this.#byId.size >= MAX_TOMBSTONES) {
      const oldest = this.#byId.entries().next().value!;
      this.#byId.delete(oldest[0]);
      this.#sessions.close(oldest[1].session);
    }
    this.#byId.set(id, { session, latestEpoch });
  }
}
