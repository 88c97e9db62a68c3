/**
 * The fake network of the SWIM simulator: a virtual clock, per-link loss, latency and
 * jitter, partitions, taps (to capture datagrams for replay) and raw injection (for the
 * hostile sender). Endpoints register a handler per address; nothing here knows SWIM.
 */

import { mulberry32 } from "../../../lib/random/mulberry32.ts";
import { EventQueue } from "./event_queue.ts";

/** Event origins a keyed network tells apart: every sender index must stay below it. */
export const ORIGINS = 65_536;
/** The origin of events no sender scheduled (the test's or bench's own actions). */
export const WORLD_ORIGIN = ORIGINS - 1;

/**
 * Takes a datagram bound for another partition's host (true) or leaves it here (false); the
 * datagram's `data` is only valid during the call.
 */
export type Diverter = (
  at: number,
  order: number,
  sender: number,
  to: string,
  data: Uint8Array,
) => boolean;

/** Loss and delay of a direction of a link. */
export interface LinkProfile {
  /** Probability a datagram is lost. */
  loss: number;
  /** Fixed one-way latency (ms). */
  latency: number;
  /** Extra uniform random delay in [0, jitter) ms. */
  jitter: number;
}

/** A datagram handler bound to an address. */
export type Receiver = (from: string, data: Uint8Array, now: number) => void;

/** An event handler: gets the integer it was scheduled with and the event's time. */
export type EventHandler = (arg: number, at: number) => void;

/** The fake network and its clock. */
export class SimNetwork {
  /** Virtual now (ms). */
  now = 0;
  /** The agenda (its payloads are this network's event slots). */
  readonly queue = new EventQueue();
  /** Default link profile. */
  link: LinkProfile = { loss: 0, latency: 5, jitter: 5 };
  /** Per-address overrides applied to traffic from or to that address (worse one wins). */
  readonly hostLinks = new Map<string, LinkProfile>();
  /** Returns true when traffic between the two addresses is cut. */
  partition: ((from: string, to: string) => boolean) | null = null;
  /** Sees every datagram sent (before loss). */
  tap: ((from: string, to: string, data: Uint8Array) => void) | null = null;
  /** Total datagrams sent. */
  datagrams = 0;
  readonly #receivers = new Map<string, Receiver>();
  readonly #random: () => number;
  // Bytes sent, per sender index: a counter per datagram keyed by address string cost a
  // hash lookup each; senders that know their index (the cluster's nodes) skip even that.
  readonly #senders = new Map<string, number>();
  readonly #senderAddresses: string[] = [];
  #sent = new Float64Array(64);
  // Events in columns by slot, reused once run (a big run schedules tens of millions): an
  // action (handler + arg) or, with a null handler, a datagram delivery.
  readonly #handler: (EventHandler | null)[] = [];
  #arg = new Float64Array(1024);
  readonly #from: string[] = [];
  readonly #to: string[] = [];
  readonly #data: (Uint8Array | null)[] = [];
  readonly #freeSlots: number[] = [];
  // Keyed mode (see `keyed`): a loss/jitter stream and an event count per origin.
  readonly #keyedSeed: number | null;
  readonly #senderRandom: (() => number)[] = [];
  readonly #originEvents: Float64Array;
  /** Set by a partitioned run: offers each datagram to another partition first. */
  divert: Diverter | null = null;

  /**
   * A network whose loss/jitter draws come from `random`; with `keyedSeed`, a keyed network
   * instead: each sender draws from its own stream (seeded from `keyedSeed` and its index) and
   * every event is ordered by (time, origin's event count, origin), so a run is the same
   * whether its hosts share one network or are split across partitions that exchange
   * datagrams (`divert`, `deliver`). Senders must then be registered in the same order on
   * every partition, and at most ORIGINS - 1 of them.
   */
  constructor(random: () => number, keyedSeed: number | null = null) {
    this.#random = random;
    this.#keyedSeed = keyedSeed;
    this.#originEvents = new Float64Array(keyedSeed === null ? 0 : ORIGINS);
  }

  /** True for a keyed network (see the constructor). */
  get keyed(): boolean {
    return this.#keyedSeed !== null;
  }

  /** Bytes sent per source address (a snapshot; addresses that sent nothing are left out). */
  get sentBytes(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (let i = 0; i < this.#senderAddresses.length; i++) {
      if (this.#sent[i] > 0) out.set(this.#senderAddresses[i], this.#sent[i]);
    }
    return out;
  }

  /** Index under which `address`'s sent bytes are counted; pass it to `send` to skip a lookup. */
  sender(address: string): number {
    let index = this.#senders.get(address);
    if (index === undefined) {
      index = this.#senderAddresses.length;
      this.#senders.set(address, index);
      this.#senderAddresses.push(address);
      if (index === this.#sent.length) {
        const sent = new Float64Array(index * 2);
        sent.set(this.#sent);
        this.#sent = sent;
      }
    }
    return index;
  }

  /** Binds `address`; datagrams to an unbound address vanish. */
  bind(address: string, receiver: Receiver): void {
    this.#receivers.set(address, receiver);
  }

  /** Unbinds (a crashed host). */
  unbind(address: string): void {
    this.#receivers.delete(address);
  }

  /** Sends a datagram subject to the link model; `sender` is `sender(from)` if known. */
  send(from: string, to: string, data: Uint8Array, sender = this.sender(from)): void {
    this.datagrams++;
    this.#sent[sender] += data.length;
    this.tap?.(from, to, data);
    if (this.partition !== null && this.partition(from, to)) return;
    const base = this.link;
    let loss = base.loss;
    let latency = base.latency;
    let jitter = base.jitter;
    if (this.hostLinks.size > 0) {
      const a = this.hostLinks.get(from);
      const b = this.hostLinks.get(to);
      loss = Math.max(loss, a?.loss ?? 0, b?.loss ?? 0);
      latency = Math.max(latency, a?.latency ?? 0, b?.latency ?? 0);
      jitter = Math.max(jitter, a?.jitter ?? 0, b?.jitter ?? 0);
    }
    const random = this.#keyedSeed === null ? this.#random : this.#randomOf(sender);
    if (loss > 0 && random() < loss) return;
    const at = this.now + latency + (jitter > 0 ? random() * jitter : 0);
    if (this.#keyedSeed === null) {
      this.queue.push(at, this.#delivery(from, to, data));
      return;
    }
    const order = this.#nextOrder(sender);
    if (this.divert !== null && this.divert(at, order, sender, to, data)) return;
    this.queue.pushOrdered(at, order, this.#delivery(from, to, data));
  }

  /** Queues a datagram another partition's host sent (keyed mode; `order` as it was given). */
  deliver(at: number, order: number, sender: number, to: string, data: Uint8Array): void {
    this.queue.pushOrdered(at, order, this.#delivery(this.#senderAddresses[sender], to, data));
  }

  #delivery(from: string, to: string, data: Uint8Array): number {
    const slot = this.#slot();
    this.#from[slot] = from;
    this.#to[slot] = to;
    this.#data[slot] = data;
    return slot;
  }

  #randomOf(sender: number): () => number {
    let random = this.#senderRandom[sender];
    if (random === undefined) {
      for (let i = this.#senderRandom.length; i <= sender; i++) {
        this.#senderRandom.push(
          mulberry32((this.#keyedSeed! ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0),
        );
      }
      random = this.#senderRandom[sender];
    }
    return random;
  }

  /** The next event key of `origin`: its event count first, so the key fits a double. */
  #nextOrder(origin: number): number {
    if (!(origin >= 0 && origin < ORIGINS)) {
      throw new RangeError(`SimNetwork: event origin ${origin} is outside 0..${ORIGINS - 1}`);
    }
    return this.#originEvents[origin]++ * ORIGINS + origin;
  }

  /** Schedules an arbitrary action. */
  at(time: number, action: () => void): void {
    this.call(time, action, 0);
  }

  /**
   * Schedules `handler(arg, time)`: a caller that re-arms often (a node's timer) keeps one
   * handler and passes what differs in `arg`, instead of a fresh closure each time.
   */
  call(time: number, handler: EventHandler, arg: number, origin = WORLD_ORIGIN): void {
    const slot = this.#slot();
    this.#handler[slot] = handler;
    this.#arg[slot] = arg;
    if (this.#keyedSeed === null) this.queue.push(time, slot);
    else this.queue.pushOrdered(time, this.#nextOrder(origin), slot);
  }

  /** Runs events until virtual time `until` (inclusive); stops early when `stop()` is true. */
  run(until: number, stop?: () => boolean): void {
    const queue = this.queue;
    for (let at = queue.peek(); at <= until; at = queue.peek()) {
      this.#fire(queue.pop(), at);
      if (stop !== undefined && stop()) return;
    }
    this.now = Math.max(this.now, until);
  }

  /** Runs the events before `end` (not at it): one window of a partitioned run. */
  runBefore(end: number): void {
    const queue = this.queue;
    for (let at = queue.peek(); at < end; at = queue.peek()) this.#fire(queue.pop(), at);
  }

  #fire(slot: number, at: number): void {
    this.now = at;
    const handler = this.#handler[slot];
    if (handler !== null) {
      const arg = this.#arg[slot];
      this.#handler[slot] = null;
      this.#freeSlots.push(slot);
      handler(arg, at);
    } else {
      const data = this.#data[slot]!;
      const from = this.#from[slot];
      const to = this.#to[slot];
      this.#data[slot] = null;
      this.#freeSlots.push(slot);
      this.#receivers.get(to)?.(from, data, at);
    }
  }

  /** A free event slot (its handler null, so a delivery unless `call` sets one). */
  #slot(): number {
    const free = this.#freeSlots.pop();
    if (free !== undefined) return free;
    const slot = this.#handler.length;
    this.#handler.push(null);
    this.#from.push("");
    this.#to.push("");
    this.#data.push(null);
    if (slot === this.#arg.length) {
      const arg = new Float64Array(slot * 2);
      arg.set(this.#arg);
      this.#arg = arg;
    }
    return slot;
  }
}
