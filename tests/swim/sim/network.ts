/**
 * The fake network of the SWIM simulator: a virtual clock, per-link loss, latency and
 * jitter, partitions, taps (to capture datagrams for replay) and raw injection (for the
 * hostile sender). Endpoints register a handler per address; nothing here knows SWIM.
 */

import { EventQueue } from "./event_queue.ts";

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

/** The fake network and its clock. */
export class SimNetwork {
  /** Virtual now (ms). */
  now = 0;
  /** The agenda. */
  readonly queue = new EventQueue();
  /** Default link profile. */
  link: LinkProfile = { loss: 0, latency: 5, jitter: 5 };
  /** Per-address overrides applied to traffic from or to that address (worse one wins). */
  readonly hostLinks = new Map<string, LinkProfile>();
  /** Returns true when traffic between the two addresses is cut. */
  partition: ((from: string, to: string) => boolean) | null = null;
  /** Sees every datagram sent (before loss). */
  tap: ((from: string, to: string, data: Uint8Array) => void) | null = null;
  /** Datagrams and bytes sent per source address. */
  readonly sentBytes = new Map<string, number>();
  /** Total datagrams sent. */
  datagrams = 0;
  readonly #receivers = new Map<string, Receiver>();
  readonly #random: () => number;

  /** A network whose loss/jitter draws come from `random`. */
  constructor(random: () => number) {
    this.#random = random;
  }

  /** Binds `address`; datagrams to an unbound address vanish. */
  bind(address: string, receiver: Receiver): void {
    this.#receivers.set(address, receiver);
  }

  /** Unbinds (a crashed host). */
  unbind(address: string): void {
    this.#receivers.delete(address);
  }

  /** Sends a datagram subject to the link model. */
  send(from: string, to: string, data: Uint8Array): void {
    this.datagrams++;
    this.sentBytes.set(from, (this.sentBytes.get(from) ?? 0) + data.length);
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
    if (loss > 0 && this.#random() < loss) return;
    const at = this.now + latency + (jitter > 0 ? this.#random() * jitter : 0);
    this.queue.deliver(at, from, to, data);
  }

  /** Schedules an arbitrary action. */
  at(time: number, action: () => void): void {
    this.queue.push(time, action);
  }

  /** Runs events until virtual time `until` (inclusive); stops early when `stop()` is true. */
  run(until: number, stop?: () => boolean): void {
    while (this.queue.peek() <= until) {
      const event = this.queue.pop()!;
      this.now = event.at;
      const { at, fire, from, to, data } = event;
      this.queue.release(event);
      if (fire !== null) fire();
      else this.#receivers.get(to)?.(from, data!, at);
      if (stop !== undefined && stop()) return;
    }
    this.now = Math.max(this.now, until);
  }
}
