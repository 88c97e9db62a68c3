/**
 * How the partitions of a partitioned simulation (partitioned_run.ts) hand each other the
 * datagrams their hosts send across, in shared memory: one mailbox per ordered pair of
 * partitions and window parity, and a barrier that ends each window. A window's datagrams
 * land at least one lookahead later, so a mailbox written during window k is read after
 * barrier k and rewritten only in window k + 2, after its reader has passed barrier k + 1.
 */

/** Bytes of one mailbox (a window carries ~100 datagrams at N=5,000; a sync page is ≤ 1,400 B). */
export const MAILBOX_BYTES = 8 << 20;
/** Per datagram: at, order (f64 each), sender, receiver, length, padding (i32 each). */
const ENTRY_HEADER_BYTES = 32;
/** How long a barrier waits between checks that no partition failed. */
const WAIT_SLICE_MS = 1_000;

/** The shared buffers of one run: made once by the coordinator, handed to every partition. */
export interface ExchangeBuffers {
  /** Barrier count, generation and the failure flag. */
  control: SharedArrayBuffer;
  /** Mailbox `(from * count + to) * 2 + parity`; the diagonal ones stay unused. */
  mailboxes: SharedArrayBuffer[];
}

/** Shared buffers for `count` partitions. */
export function exchangeBuffers(count: number): ExchangeBuffers {
  const mailboxes: SharedArrayBuffer[] = [];
  for (let i = 0; i < count * count * 2; i++) {
    const from = Math.floor(i / 2 / count);
    const to = Math.floor(i / 2) % count;
    // Int32 slot 0 of each mailbox is its used length; entries start 8 bytes in.
    mailboxes.push(new SharedArrayBuffer(from === to ? 8 : MAILBOX_BYTES));
  }
  return { control: new SharedArrayBuffer(16), mailboxes };
}

/** Marks a run failed from outside its partitions (a worker died): see PartitionExchange.fail. */
export function failExchange(buffers: ExchangeBuffers): void {
  const control = new Int32Array(buffers.control);
  Atomics.store(control, 2, 1);
  Atomics.notify(control, 1);
}

/** A datagram that arrived from another partition. */
export type Arrival = (
  at: number,
  order: number,
  sender: number,
  receiver: number,
  data: Uint8Array,
) => void;

/** One partition's side of the exchange. */
export class PartitionExchange {
  readonly #index: number;
  readonly #count: number;
  readonly #buffers: ExchangeBuffers;
  readonly #control: Int32Array;
  readonly #bytes: Uint8Array[];
  readonly #view: DataView[];
  readonly #used: Int32Array[];
  #parity = 0;
  /** Windows ended so far. */
  windows = 0;
  /** Milliseconds spent waiting at barriers for the other partitions. */
  waitedMs = 0;

  /** Partition `index` of `count`, over `buffers`. */
  constructor(buffers: ExchangeBuffers, index: number, count: number) {
    this.#index = index;
    this.#count = count;
    this.#buffers = buffers;
    this.#control = new Int32Array(buffers.control);
    this.#bytes = buffers.mailboxes.map((b) => new Uint8Array(b));
    this.#view = buffers.mailboxes.map((b) => new DataView(b));
    this.#used = buffers.mailboxes.map((b) => new Int32Array(b, 0, 1));
  }

  /** Posts a datagram for partition `to` (read there after this window's barrier). */
  post(
    to: number,
    at: number,
    order: number,
    sender: number,
    receiver: number,
    data: Uint8Array,
  ): void {
    const box = this.#box(this.#index, to, this.#parity);
    const used = this.#used[box];
    const offset = used[0] + 8;
    const end = offset + ENTRY_HEADER_BYTES + ((data.length + 7) & ~7);
    if (end > MAILBOX_BYTES) {
      throw new Error(
        `partitioned simulation: one window sent over ${MAILBOX_BYTES} bytes to partition ${to}`,
      );
    }
    const view = this.#view[box];
    view.setFloat64(offset, at, true);
    view.setFloat64(offset + 8, order, true);
    view.setInt32(offset + 16, sender, true);
    view.setInt32(offset + 20, receiver, true);
    view.setInt32(offset + 24, data.length, true);
    this.#bytes[box].set(data, offset + ENTRY_HEADER_BYTES);
    used[0] = end - 8;
  }

  /**
   * Ends the window: waits until every partition has posted its datagrams, hands this one's
   * to `arrive` (copied out of shared memory), and switches to the other mailboxes.
   */
  endWindow(arrive: Arrival): void {
    const waitStart = performance.now();
    this.#barrier();
    this.waitedMs += performance.now() - waitStart;
    this.windows++;
    const parity = this.#parity;
    for (let from = 0; from < this.#count; from++) {
      if (from === this.#index) continue;
      const box = this.#box(from, this.#index, parity);
      const view = this.#view[box];
      const bytes = this.#bytes[box];
      const end = this.#used[box][0] + 8;
      for (let offset = 8; offset < end;) {
        const length = view.getInt32(offset + 24, true);
        const start = offset + ENTRY_HEADER_BYTES;
        arrive(
          view.getFloat64(offset, true),
          view.getFloat64(offset + 8, true),
          view.getInt32(offset + 16, true),
          view.getInt32(offset + 20, true),
          bytes.slice(start, start + length),
        );
        offset = start + ((length + 7) & ~7);
      }
    }
    this.#parity ^= 1;
    // Our next outgoing mailboxes were read by their owners before they reached this barrier.
    for (let to = 0; to < this.#count; to++) {
      if (to !== this.#index) this.#used[this.#box(this.#index, to, this.#parity)][0] = 0;
    }
  }

  /** Marks the run failed: every partition waiting at a barrier throws instead of hanging. */
  fail(): void {
    failExchange(this.#buffers);
  }

  #box(from: number, to: number, parity: number): number {
    return (from * this.#count + to) * 2 + parity;
  }

  #barrier(): void {
    const control = this.#control;
    const generation = Atomics.load(control, 1);
    if (Atomics.add(control, 0, 1) === this.#count - 1) {
      Atomics.store(control, 0, 0);
      Atomics.add(control, 1, 1);
      Atomics.notify(control, 1);
      return;
    }
    while (Atomics.load(control, 1) === generation) {
      if (Atomics.load(control, 2) !== 0) {
        throw new Error("partitioned simulation: another partition failed");
      }
      Atomics.wait(control, 1, generation, WAIT_SLICE_MS);
    }
  }
}
