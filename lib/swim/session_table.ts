/**
 * One node's pairwise SWIM sessions in typed columns, one slot per member it exchanged
 * authenticated datagrams or a Hello with: the replay window of what the member sends us
 * (RFC 6479 style: highest counter plus a 32-bit bitmap below it, keyed to its boot epoch),
 * the position of its last Hello, the cached X25519 secret and per-direction keys, when we
 * last probed it and sent it a verification ping (both are sent under the session), the seq of
 * that ping while pending, the probes' smoothed RTT and when it last acked a direct ping.
 * Columns instead of an object per session: a node in a big mesh talks to thousands of
 * members, and a Session with its replay window and boxed numbers cost ~140 bytes each where
 * a slot costs ~70. Slots are handed out only to members in the table (a forged sender that
 * never authenticates gets none), live on in tombstones, and are reused once a tombstone goes.
 */

/** Window width: counters more than this far below the highest are refused. */
export const REPLAY_WINDOW_BITS = 32;

/** No session slot (a member we never authenticated anything from). */
export const NO_SESSION = -1;

const FIRST_CAPACITY = 16;
/** Bytes of one slot over the typed columns: 11 doubles and the 32-bit replay mask. */
const SLOT_BYTES = 11 * 8 + 4;

/** Every session of one node, addressed by slot. */
export class SessionTable {
  #capacity = FIRST_CAPACITY;
  #used = 0;
  readonly #free: number[] = [];
  /** Sender epoch each replay window belongs to (0 = nothing accepted yet). */
  #replayEpoch!: Float64Array<ArrayBuffer>;
  /** Highest counter accepted in that epoch (-1 = none). */
  #highest!: Float64Array<ArrayBuffer>;
  /** Bit i set = counter `highest - 1 - i` was accepted. */
  #mask!: Int32Array<ArrayBuffer>;
  /** Hello replay state: epoch and highest counter accepted. */
  #helloEpoch!: Float64Array<ArrayBuffer>;
  #helloCounter!: Float64Array<ArrayBuffer>;
  /** The member epochs the cached send and receive keys were derived for. */
  #txEpoch!: Float64Array<ArrayBuffer>;
  #rxEpoch!: Float64Array<ArrayBuffer>;
  /**
   * When we last started a probe of the member and sent it a verification ping (-Infinity:
   * never). Here rather than on the Member: times are fractional, and a double field costs
   * every object a boxed number (24 bytes a field, not 8).
   */
  #lastProbe!: Float64Array<ArrayBuffer>;
  #lastCheck!: Float64Array<ArrayBuffer>;
  /** Seq of our pending verification ping to the member (0: none; a u32, so unboxed here). */
  #checkSeq!: Float64Array<ArrayBuffer>;
  /** Smoothed RTT of our direct probes to it (ms; -1 until measured). */
  #rtt!: Float64Array<ArrayBuffer>;
  /** When it last acked a ping we sent straight to it (-Infinity: never; punch.ts). */
  #lastDirect!: Float64Array<ArrayBuffer>;
  /** Static-static X25519 result; undefined = not computed yet, null = degenerate key. */
  #shared: (Uint8Array | null | undefined)[] = [];
  #tx: (Uint8Array | null)[] = [];
  #rx: (Uint8Array | null)[] = [];

  /** An empty table. */
  constructor() {
    this.#allocate(FIRST_CAPACITY);
  }

  /** Slots in use (tombstones' included). */
  get size(): number {
    return this.#used - this.#free.length;
  }

  /** A fresh slot: empty replay window, no Hello seen, no keys. */
  open(): number {
    const slot = this.#free.length > 0 ? this.#free.pop()! : this.#used++;
    if (slot >= this.#capacity) this.#grow();
    this.#replayEpoch[slot] = 0;
    this.#highest[slot] = -1;
    this.#mask[slot] = 0;
    this.#helloEpoch[slot] = 0;
    this.#helloCounter[slot] = -1;
    this.#txEpoch[slot] = 0;
    this.#rxEpoch[slot] = 0;
    this.#lastProbe[slot] = -Infinity;
    this.#lastCheck[slot] = -Infinity;
    this.#checkSeq[slot] = 0;
    this.#rtt[slot] = -1;
    this.#lastDirect[slot] = -Infinity;
    this.#shared[slot] = undefined;
    this.#tx[slot] = null;
    this.#rx[slot] = null;
    return slot;
  }

  /** Gives a slot back (its tombstone went); it may be handed out again by `open`. */
  close(slot: number): void {
    this.#shared[slot] = undefined;
    this.#tx[slot] = null;
    this.#rx[slot] = null;
    this.#free.push(slot);
  }

  /** True when (epoch, counter) is fresh; does not record it (call `accept` after the AEAD). */
  fresh(slot: number, epoch: number, counter: number): boolean {
    const windowEpoch = this.#replayEpoch[slot];
    const highest = this.#highest[slot];
    if (epoch < windowEpoch) return false;
    if (epoch > windowEpoch || counter > highest) return true;
    if (counter === highest) return false;
    const distance = highest - counter - 1;
    if (distance >= REPLAY_WINDOW_BITS) return false;
    return (this.#mask[slot] & (1 << distance)) === 0;
  }

  /** Records (epoch, counter) as seen; only call after `fresh` and authentication passed. */
  accept(slot: number, epoch: number, counter: number): void {
    if (epoch > this.#replayEpoch[slot]) {
      this.#replayEpoch[slot] = epoch;
      this.#highest[slot] = counter;
      this.#mask[slot] = 0;
      return;
    }
    const highest = this.#highest[slot];
    if (counter > highest) {
      const shift = counter - highest;
      const mask = this.#mask[slot];
      this.#mask[slot] = shift > REPLAY_WINDOW_BITS
        ? 0
        : shift === REPLAY_WINDOW_BITS
        ? 1 << 31
        : (mask << shift) | (1 << (shift - 1));
      this.#highest[slot] = counter;
      return;
    }
    this.#mask[slot] = this.#mask[slot] | (1 << (highest - counter - 1));
  }

  /** True when a Hello at (epoch, counter) is not newer than the last one accepted. */
  helloSeen(slot: number, epoch: number, counter: number): boolean {
    const last = this.#helloEpoch[slot];
    return epoch < last || (epoch === last && counter <= this.#helloCounter[slot]);
  }

  /** Records the position of an accepted Hello. */
  acceptHello(slot: number, epoch: number, counter: number): void {
    this.#helloEpoch[slot] = epoch;
    this.#helloCounter[slot] = counter;
  }

  /** The counter of the last Hello accepted (-1: none). */
  helloCounter(slot: number): number {
    return this.#helloCounter[slot];
  }

  /** The cached X25519 secret: undefined = not computed yet, null = degenerate key. */
  shared(slot: number): Uint8Array | null | undefined {
    return this.#shared[slot];
  }

  /** Caches the X25519 secret. */
  setShared(slot: number, secret: Uint8Array | null): void {
    this.#shared[slot] = secret;
  }

  /** The cached send key if it was derived for member epoch `epoch`, else null. */
  txKey(slot: number, epoch: number): Uint8Array | null {
    return this.#txEpoch[slot] === epoch ? this.#tx[slot] : null;
  }

  /** Caches the send key for member epoch `epoch`. */
  setTxKey(slot: number, epoch: number, key: Uint8Array): void {
    this.#tx[slot] = key;
    this.#txEpoch[slot] = epoch;
  }

  /** The cached receive key if it was derived for sender epoch `epoch`, else null. */
  rxKey(slot: number, epoch: number): Uint8Array | null {
    return this.#rxEpoch[slot] === epoch ? this.#rx[slot] : null;
  }

  /** Caches a receive key unless a newer epoch's is cached (an older one is refused anyway). */
  setRxKey(slot: number, epoch: number, key: Uint8Array): void {
    if (epoch < this.#rxEpoch[slot]) return;
    this.#rx[slot] = key;
    this.#rxEpoch[slot] = epoch;
  }

  /** When we last started a probe of the slot's member (-Infinity: never). */
  lastProbe(slot: number): number {
    return this.#lastProbe[slot];
  }

  /** Records the start of a probe. */
  setLastProbe(slot: number, now: number): void {
    this.#lastProbe[slot] = now;
  }

  /** When we last sent the slot's member a verification ping (-Infinity: never). */
  lastCheck(slot: number): number {
    return this.#lastCheck[slot];
  }

  /** Records a verification ping. */
  setLastCheck(slot: number, now: number): void {
    this.#lastCheck[slot] = now;
  }

  /** Seq of our pending verification ping to the slot's member (0: none). */
  checkSeq(slot: number): number {
    return this.#checkSeq[slot];
  }

  /** Records (or with 0 clears) the pending verification ping's seq. */
  setCheckSeq(slot: number, seq: number): void {
    this.#checkSeq[slot] = seq;
  }

  /** Smoothed RTT of our direct probes to the slot's member (ms; -1 until measured). */
  rtt(slot: number): number {
    return this.#rtt[slot];
  }

  /** Records the smoothed RTT. */
  setRtt(slot: number, rtt: number): void {
    this.#rtt[slot] = rtt;
  }

  /** When the slot's member last acked a ping we sent straight to it (-Infinity: never). */
  lastDirect(slot: number): number {
    return this.#lastDirect[slot];
  }

  /** Records a direct ack. */
  setLastDirect(slot: number, now: number): void {
    this.#lastDirect[slot] = now;
  }

  #grow(): void {
    // 1.25×, not 2× or 1.5×: each slot is ~92 bytes over 12 columns, and a node of a big
    // simulated mesh holds thousands; the unused tail averages ~11% of the used slots (1.5×:
    // ~22%, up to 38% measured at N=300). The copies stay cheap: ~5 per slot over its life.
    const capacity = Math.ceil(this.#capacity * 1.25);
    const replayEpoch = this.#replayEpoch, highest = this.#highest, mask = this.#mask;
    const helloEpoch = this.#helloEpoch, helloCounter = this.#helloCounter;
    const txEpoch = this.#txEpoch, rxEpoch = this.#rxEpoch, lastProbe = this.#lastProbe;
    const lastCheck = this.#lastCheck, checkSeq = this.#checkSeq, rtt = this.#rtt;
    const lastDirect = this.#lastDirect;
    this.#allocate(capacity);
    this.#replayEpoch.set(replayEpoch);
    this.#highest.set(highest);
    this.#mask.set(mask);
    this.#helloEpoch.set(helloEpoch);
    this.#helloCounter.set(helloCounter);
    this.#txEpoch.set(txEpoch);
    this.#rxEpoch.set(rxEpoch);
    this.#lastProbe.set(lastProbe);
    this.#lastCheck.set(lastCheck);
    this.#checkSeq.set(checkSeq);
    this.#rtt.set(rtt);
    this.#lastDirect.set(lastDirect);
  }

  /**
   * Fresh columns for `capacity` slots, all views of one buffer: one allocation a growth step
   * instead of twelve (each typed array of its own cost an ArrayBuffer, a backing store and
   * GC bookkeeping; the growth steps were ~3% of a simulated cluster's first minutes).
   */
  #allocate(capacity: number): void {
    const buffer = new ArrayBuffer(capacity * SLOT_BYTES);
    let at = 0;
    const column = (): Float64Array<ArrayBuffer> => {
      const view = new Float64Array(buffer, at, capacity);
      at += capacity * 8;
      return view;
    };
    this.#replayEpoch = column();
    this.#highest = column();
    this.#helloEpoch = column();
    this.#helloCounter = column();
    this.#txEpoch = column();
    this.#rxEpoch = column();
    this.#lastProbe = column();
    this.#lastCheck = column();
    this.#checkSeq = column();
    this.#rtt = column();
    this.#lastDirect = column();
    this.#mask = new Int32Array(buffer, at, capacity);
    this.#capacity = capacity;
  }
}
