/**
 * The receiver-index table: the 32-bit indices we hand out in handshakes, mapped back to what
 * they name (a pending handshake or a keypair) when a message arrives. The low bits of an index
 * are the keypair record it reserves, so a data worker finds a transport message's keys in the
 * shared tables without any lookup structure; the high bits are random, so peers cannot tell
 * how many sessions we run and a stale index from a reused record does not match.
 */

/** What an index can stand for. */
export type IndexEntry<Peer, Pair> =
  | { kind: "handshake"; peer: Peer }
  | { kind: "keypair"; peer: Peer; keypair: Pair };

/** Thrown when every keypair record is taken. */
export class IndexTableFullError extends RangeError {}

/** Maps our indices to their owners. */
export class IndexTable<Peer, Pair> {
  private readonly entries = new Map<number, IndexEntry<Peer, Pair>>();
  private readonly used: Uint8Array;
  private readonly mask: number;
  /** Records are handed out round-robin, so a freed one is reused as late as possible. */
  private cursor = 0;

  /** `records` (a power of two) bounds the live indices; `randomIndex` supplies high bits. */
  constructor(
    readonly records: number,
    private readonly randomIndex: () => number = defaultRandomIndex,
  ) {
    if (!Number.isInteger(records) || records < 2 || (records & (records - 1)) !== 0) {
      throw new RangeError(`index records must be a power of two >= 2, got ${records}`);
    }
    this.used = new Uint8Array(records);
    this.mask = records - 1;
  }

  /** Number of live indices. */
  get size(): number {
    return this.entries.size;
  }

  /** The keypair record an index reserves. */
  recordOf(index: number): number {
    return (index >>> 0) & this.mask;
  }

  /** Allocates a fresh non-zero index, reserving a free record, for `entry`. */
  allocate(entry: IndexEntry<Peer, Pair>): number {
    if (this.entries.size >= this.records) {
      throw new IndexTableFullError(
        `all ${this.records} handshake and keypair records are in use: the device has too many peers for its memory`,
      );
    }
    while (this.used[this.cursor] === 1) this.cursor = (this.cursor + 1) & this.mask;
    const record = this.cursor;
    this.cursor = (this.cursor + 1) & this.mask;
    for (;;) {
      const index = ((this.randomIndex() & ~this.mask) | record) >>> 0;
      if (index !== 0) {
        this.used[record] = 1;
        this.entries.set(index, entry);
        return index;
      }
    }
  }

  /** Points an existing index at a new entry (a handshake index becoming a keypair index). */
  replace(index: number, entry: IndexEntry<Peer, Pair>): void {
    if (!this.entries.has(index >>> 0)) throw new RangeError(`index ${index} is not allocated`);
    this.entries.set(index >>> 0, entry);
  }

  /** What `index` stands for, if anything. */
  lookup(index: number): IndexEntry<Peer, Pair> | undefined {
    return this.entries.get(index >>> 0);
  }

  /** Frees an index and its record. */
  free(index: number): void {
    if (this.entries.delete(index >>> 0)) this.used[this.recordOf(index)] = 0;
  }
}

function defaultRandomIndex(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
