/**
 * The receiver-index table: random 32-bit indices we hand out in handshakes, mapped back to
 * what they name (a pending handshake or a keypair) when a message arrives. Random indices
 * keep peers from learning how many sessions we run.
 */

/** What an index can stand for. */
export type IndexEntry<Peer, Pair> =
  | { kind: "handshake"; peer: Peer }
  | { kind: "keypair"; peer: Peer; keypair: Pair };

/** Maps our indices to their owners. */
export class IndexTable<Peer, Pair> {
  private readonly entries = new Map<number, IndexEntry<Peer, Pair>>();

  constructor(private readonly randomIndex: () => number = defaultRandomIndex) {}

  /** Number of live indices. */
  get size(): number {
    return this.entries.size;
  }

  /** Allocates a fresh, unused, non-zero index for `entry`. */
  allocate(entry: IndexEntry<Peer, Pair>): number {
    for (;;) {
      const index = this.randomIndex() >>> 0;
      if (index !== 0 && !this.entries.has(index)) {
        this.entries.set(index, entry);
        return index;
      }
    }
  }

  /** Points an existing index at a new entry (a handshake index becoming a keypair index). */
  replace(index: number, entry: IndexEntry<Peer, Pair>): void {
    this.entries.set(index, entry);
  }

  /** What `index` stands for, if anything. */
  lookup(index: number): IndexEntry<Peer, Pair> | undefined {
    return this.entries.get(index >>> 0);
  }

  /** Frees an index. */
  free(index: number): void {
    this.entries.delete(index >>> 0);
  }
}

function defaultRandomIndex(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
