/**
 * One node's pairwise SWIM sessions in typed rows, one slot per member it exchanged
 * authenticated datagrams or a Hello with: the replay window of what the member sends us
 * (RFC 6479 style: highest counter plus a 32-bit bitmap below it, keyed to its boot epoch),
 * the position of its last Hello, the cached X25519 secret and per-direction keys, when we
 * last probed it and sent it a verification ping (both are sent under the session), the seq of
 * that ping while pending, the probes' smoothed RTT and when it last acked a direct ping.
 * Typed rows instead of an object per session: a node in a big mesh talks to thousands of
 * members, and a Session with its replay window and boxed numbers cost ~140 bytes each where
 * a slot costs 72 (plus three key pointers where the crypto's keys are worth caching). Slots are
 * handed out only to members in the table (a forged sender that never authenticates gets none),
 * live on in tombstones, and are reused once a tombstone goes.
 *
 * A slot's numbers sit together in one row of 72 bytes (8 doubles, then the replay bitmap and
 * the pending check seq as 32-bit integers: a datagram's replay check, keys and probe times
 * touch one or two cache lines, where a column per field touched one line each), and rows come
 * in chunks of CHUNK_SLOTS that never move: a growing table allocates one more 9 KB chunk,
 * instead of copying every column into a 1.25× larger buffer (large ArrayBuffers cost V8 ~1 µs
 * a KB to allocate; the copies were ~4% of a simulated cluster). The Hello position lives in a
 * map: only members that sent us a Hello (joiners, restarts) have one.
 */

/** Window width: counters more than this far below the highest are refused. */
export const REPLAY_WINDOW_BITS = 32;

/** No session slot (a member we never authenticated anything from). */
export const NO_SESSION = -1;

/** Slots a chunk holds (a power of two: a slot's chunk is `slot >>> CHUNK_SHIFT`). */
const CHUNK_SHIFT = 7;
const CHUNK_SLOTS = 1 << CHUNK_SHIFT;
const IN_CHUNK = CHUNK_SLOTS - 1;
/**
 * A row's size in doubles: the double fields below are offsets into it, the hot ones first;
 * the last double's 8 bytes hold the two 32-bit fields (MASK_WORD and CHECK_SEQ_WORD).
 */
const ROW = 9;
/** Sender epoch the replay window belongs to (0 = nothing accepted yet). */
const REPLAY_EPOCH = 0;
/** Highest counter accepted in that epoch (-1 = none). */
const HIGHEST = 1;
/** The member epochs the cached receive and send keys were derived for. */
const RX_EPOCH = 2;
const TX_EPOCH = 3;
/**
 * When it last acked a ping we sent straight to it, when we last started a probe of it, when
 * we last sent it a verification ping (-Infinity: never). Here rather than on the Member:
 * times are fractional, and a double field costs every object a boxed number.
 */
const LAST_DIRECT = 4;
const LAST_PROBE = 5;
/** Smoothed RTT of our direct probes to it (ms; -1 until measured). */
const RTT = 6;
const LAST_CHECK = 7;
/**
 * 32-bit words after the doubles (index `2 × (row start + 8)` + word): bit i of the replay
 * bitmap set = counter `highest - 1 - i` was accepted (an int32); the seq of our pending
 * verification ping to the member (0: none; a u32, stored as its int32 bits).
 */
const MASK_WORD = 0;
const CHECK_SEQ_WORD = 1;
/** Where the 32-bit words start in a row, in doubles. */
const WORDS = 8;

/** The position of the last Hello a member sent us: its epoch and counter. */
interface HelloPosition {
  epoch: number;
  counter: number;
}

/** Every session of one node, addressed by slot. */
export class SessionTable {
  #used = 0;
  readonly #free: number[] = [];
  /** Rows by chunk: slot `s` is row `s & IN_CHUNK` of chunk `s >>> CHUNK_SHIFT`. */
  readonly #chunks: Float64Array[] = [];
  /** The same chunks as 32-bit words (the replay bitmap and the check seq). */
  readonly #words: Int32Array[] = [];
  /** Hello positions by slot, for the members that sent one. */
  readonly #hellos = new Map<number, HelloPosition>();
  /** Static-static X25519 result; undefined = not computed yet, null = degenerate key. */
  readonly #shared: (Uint8Array | null | undefined)[] = [];
  /** Send key at 2 × slot, receive key at 2 × slot + 1 (one cache line for both). */
  readonly #keys: (Uint8Array | null)[] = [];
  // Both key arrays reach a slot only once a key is cached for it (`#reach`): a node whose
  // crypto caches nothing (`SwimCrypto.cheapKeys`) keeps them empty.

  /** Slots in use (tombstones' included). */
  get size(): number {
    return this.#used - this.#free.length;
  }

  /** A fresh slot: empty replay window, no Hello seen, no keys. */
  open(): number {
    const slot = this.#free.length > 0 ? this.#free.pop()! : this.#used++;
    const chunk = slot >>> CHUNK_SHIFT;
    if (chunk === this.#chunks.length) {
      const buffer = new ArrayBuffer(CHUNK_SLOTS * ROW * 8);
      this.#chunks.push(new Float64Array(buffer));
      this.#words.push(new Int32Array(buffer));
    }
    const rows = this.#chunks[chunk];
    const at = (slot & IN_CHUNK) * ROW;
    rows[at + REPLAY_EPOCH] = 0;
    rows[at + HIGHEST] = -1;
    rows[at + RX_EPOCH] = 0;
    rows[at + TX_EPOCH] = 0;
    rows[at + LAST_PROBE] = -Infinity;
    rows[at + LAST_DIRECT] = -Infinity;
    rows[at + LAST_CHECK] = -Infinity;
    this.#words[chunk][this.#wordAt(slot, MASK_WORD)] = 0;
    this.#words[chunk][this.#wordAt(slot, CHECK_SEQ_WORD)] = 0;
    rows[at + RTT] = -1;
    this.#hellos.delete(slot);
    this.#forgetKeys(slot);
    return slot;
  }

  /** Gives a slot back (its tombstone went); it may be handed out again by `open`. */
  close(slot: number): void {
    this.#hellos.delete(slot);
    this.#forgetKeys(slot);
    this.#free.push(slot);
  }

  /** True when (epoch, counter) is fresh; does not record it (call `accept` after the AEAD). */
  fresh(slot: number, epoch: number, counter: number): boolean {
    const chunk = slot >>> CHUNK_SHIFT;
    const rows = this.#chunks[chunk];
    const at = (slot & IN_CHUNK) * ROW;
    const windowEpoch = rows[at + REPLAY_EPOCH];
    const highest = rows[at + HIGHEST];
    if (epoch < windowEpoch) return false;
    if (epoch > windowEpoch || counter > highest) return true;
    if (counter === highest) return false;
    const distance = highest - counter - 1;
    if (distance >= REPLAY_WINDOW_BITS) return false;
    return (this.#words[chunk][this.#wordAt(slot, MASK_WORD)] & (1 << distance)) === 0;
  }

  /** Records (epoch, counter) as seen; only call after `fresh` and authentication passed. */
  accept(slot: number, epoch: number, counter: number): void {
    const chunk = slot >>> CHUNK_SHIFT;
    const rows = this.#chunks[chunk];
    const words = this.#words[chunk];
    const at = (slot & IN_CHUNK) * ROW;
    const maskAt = this.#wordAt(slot, MASK_WORD);
    if (epoch > rows[at + REPLAY_EPOCH]) {
      rows[at + REPLAY_EPOCH] = epoch;
      rows[at + HIGHEST] = counter;
      words[maskAt] = 0;
      return;
    }
    const highest = rows[at + HIGHEST];
    if (counter > highest) {
      const shift = counter - highest;
      const mask = words[maskAt];
      words[maskAt] = shift > REPLAY_WINDOW_BITS
        ? 0
        : shift === REPLAY_WINDOW_BITS
        ? 1 << 31
        : (mask << shift) | (1 << (shift - 1));
      rows[at + HIGHEST] = counter;
      return;
    }
    words[maskAt] = words[maskAt] | (1 << (highest - counter - 1));
  }

  /** True when a Hello at (epoch, counter) is not newer than the last one accepted. */
  helloSeen(slot: number, epoch: number, counter: number): boolean {
    const last = this.#hellos.get(slot);
    const lastEpoch = last?.epoch ?? 0;
    return epoch < lastEpoch || (epoch === lastEpoch && counter <= (last?.counter ?? -1));
  }

  /** Records the position of an accepted Hello. */
  acceptHello(slot: number, epoch: number, counter: number): void {
    this.#hellos.set(slot, { epoch, counter });
  }

  /** The counter of the last Hello accepted (-1: none). */
  helloCounter(slot: number): number {
    return this.#hellos.get(slot)?.counter ?? -1;
  }

  /** The cached X25519 secret: undefined = not computed yet, null = degenerate key. */
  shared(slot: number): Uint8Array | null | undefined {
    return slot < this.#shared.length ? this.#shared[slot] : undefined;
  }

  /** Caches the X25519 secret. */
  setShared(slot: number, secret: Uint8Array | null): void {
    this.#reach(slot);
    this.#shared[slot] = secret;
  }

  /** The cached send key if it was derived for member epoch `epoch`, else null. */
  txKey(slot: number, epoch: number): Uint8Array | null {
    return this.#get(slot, TX_EPOCH) === epoch ? this.#keys[2 * slot] ?? null : null;
  }

  /** Caches the send key for member epoch `epoch`. */
  setTxKey(slot: number, epoch: number, key: Uint8Array): void {
    this.#reach(slot);
    this.#keys[2 * slot] = key;
    this.#set(slot, TX_EPOCH, epoch);
  }

  /** The cached receive key if it was derived for sender epoch `epoch`, else null. */
  rxKey(slot: number, epoch: number): Uint8Array | null {
    return this.#get(slot, RX_EPOCH) === epoch ? this.#keys[2 * slot + 1] ?? null : null;
  }

  /** Caches a receive key unless a newer epoch's is cached (an older one is refused anyway). */
  setRxKey(slot: number, epoch: number, key: Uint8Array): void {
    if (epoch < this.#get(slot, RX_EPOCH)) return;
    this.#reach(slot);
    this.#keys[2 * slot + 1] = key;
    this.#set(slot, RX_EPOCH, epoch);
  }

  /** When we last started a probe of the slot's member (-Infinity: never). */
  lastProbe(slot: number): number {
    return this.#get(slot, LAST_PROBE);
  }

  /** Records the start of a probe. */
  setLastProbe(slot: number, now: number): void {
    this.#set(slot, LAST_PROBE, now);
  }

  /** When we last sent the slot's member a verification ping (-Infinity: never). */
  lastCheck(slot: number): number {
    return this.#get(slot, LAST_CHECK);
  }

  /** Records a verification ping. */
  setLastCheck(slot: number, now: number): void {
    this.#set(slot, LAST_CHECK, now);
  }

  /** Seq of our pending verification ping to the slot's member (0: none). */
  checkSeq(slot: number): number {
    return this.#words[slot >>> CHUNK_SHIFT][this.#wordAt(slot, CHECK_SEQ_WORD)] >>> 0;
  }

  /** Records (or with 0 clears) the pending verification ping's seq. */
  setCheckSeq(slot: number, seq: number): void {
    this.#words[slot >>> CHUNK_SHIFT][this.#wordAt(slot, CHECK_SEQ_WORD)] = seq;
  }

  /** Smoothed RTT of our direct probes to the slot's member (ms; -1 until measured). */
  rtt(slot: number): number {
    return this.#get(slot, RTT);
  }

  /** Records the smoothed RTT. */
  setRtt(slot: number, rtt: number): void {
    this.#set(slot, RTT, rtt);
  }

  /** When the slot's member last acked a ping we sent straight to it (-Infinity: never). */
  lastDirect(slot: number): number {
    return this.#get(slot, LAST_DIRECT);
  }

  /** Records a direct ack. */
  setLastDirect(slot: number, now: number): void {
    this.#set(slot, LAST_DIRECT, now);
  }

  #forgetKeys(slot: number): void {
    if (slot >= this.#shared.length) return;
    this.#shared[slot] = undefined;
    this.#keys[2 * slot] = null;
    this.#keys[2 * slot + 1] = null;
  }

  /** Grows the key arrays densely (pushes: a far index write would make them sparse) to `slot`. */
  #reach(slot: number): void {
    while (this.#shared.length <= slot) {
      this.#shared.push(undefined);
      this.#keys.push(null, null);
    }
  }

  /** Index of a slot's 32-bit `word` in its chunk's word views. */
  #wordAt(slot: number, word: number): number {
    return 2 * ((slot & IN_CHUNK) * ROW + WORDS) + word;
  }

  #get(slot: number, field: number): number {
    return this.#chunks[slot >>> CHUNK_SHIFT][(slot & IN_CHUNK) * ROW + field];
  }

  #set(slot: number, field: number, value: number): void {
    this.#chunks[slot >>> CHUNK_SHIFT][(slot & IN_CHUNK) * ROW + field] = value;
  }
}
