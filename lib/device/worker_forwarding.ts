/**
 * What a data worker hands to the main thread: of the datagrams that are not transport data,
 * handshake messages (types 1–3) go to the engine's handshake queue and SWIM datagrams to the
 * membership engine. The main thread runs handshakes, timers, membership and the control socket,
 * so everything it is handed is bounded here, in the worker, before it is copied and posted.
 *
 * STUN: a plain Binding request is answered here, in the worker (ANSWER_STUN: the loop writes the
 * answer into a buffer it owns and sends it; nothing is allocated or posted), at most
 * STUN_SOURCE_RATE a second per source address. A Binding response (for the node's own STUN
 * client) travels with the SWIM datagrams and under the same bounds (FORWARD_SWIM): the main
 * thread's node tells them apart by the port classifier.
 */

import {
  classifyDatagram,
  PORT_STUN,
  PORT_SWIM,
  PORT_WIREGUARD_HANDSHAKE,
} from "../net/port_demux.ts";
import { isPlainBindingRequest, looksLikeBindingResponse } from "../stun/stun_message.ts";
import { MAX_QUEUED_INCOMING_HANDSHAKES } from "../wireguard/constants.ts";
import type { Endpoint } from "../wireguard/endpoint.ts";
import {
  CONTROL_HANDSHAKES_IN_FLIGHT,
  CONTROL_STUN_ANSWERED,
  CONTROL_STUN_MALFORMED,
  CONTROL_STUN_RATE_LIMITED,
  CONTROL_SWIM_IN_FLIGHT,
  CONTROL_SWIM_MALFORMED,
  CONTROL_SWIM_QUEUE_FULL,
  CONTROL_SWIM_RATE_LIMITED,
} from "./device_protocol.ts";
import { SourceRateLimiter } from "./source_rate_limiter.ts";
import { plausibleSwimDatagram } from "./swim_precheck.ts";

/** SWIM datagrams handed to the main thread per receive batch, at most. */
export const MAX_FORWARDED_SWIM = 256;
/**
 * SWIM datagrams posted to the main thread and not yet handled, over all workers. Forged ones
 * cost membership 22–37 µs each, so this keeps its backlog under ~40 ms of work; a node sees a
 * few dozen legitimate datagrams a second in steady state, a full sync one page per round trip.
 */
export const MAX_SWIM_IN_FLIGHT = 1024;
/**
 * SWIM datagrams per second one source address may send (each worker keeps its own table; the
 * kernel sends one address's datagrams to one worker). A member sends any one other member
 * about 5–15 a second in the `lan` profile (gossip every 200 ms to 3 members, one probe and
 * its ack, ping-req relays), so this leaves more than 10× margin, or room for about ten members
 * behind one NAT address. A forged flood from one address gets at most twice this through (a
 * source has two buckets).
 */
export const SWIM_SOURCE_RATE = 200;
/** Datagrams an idle source address may send at once (a joiner's full sync starts here). */
export const SWIM_SOURCE_BURST = 400;
/** Buckets in each worker's per-source table (2 × 4096 doubles × 2 = 128 KiB). */
export const SWIM_SOURCE_BUCKETS = 4096;

/**
 * STUN Binding requests one source address gets answered per second (per worker). A client
 * sends one per server every refresh (≤ 60 s) plus at most three retransmissions; this leaves
 * room for a dozen clients behind one NAT address and caps what a spoofed-source flood can
 * reflect at a victim to 2 × 10 answers of ≤ 52 bytes a second per worker.
 */
export const STUN_SOURCE_RATE = 10;
/** Answers an idle source address may get at once. */
export const STUN_SOURCE_BURST = 20;
/** Buckets in each worker's STUN table (2 × 1024 doubles × 2 = 32 KiB). */
export const STUN_SOURCE_BUCKETS = 1024;

/** Keep the datagram in the worker (dropped or not ours). */
export const KEEP = 0;
/** Hand the datagram to the main thread's handshake queue. */
export const FORWARD_HANDSHAKE = 1;
/** Hand the datagram to the main thread's membership engine (or its STUN client). */
export const FORWARD_SWIM = 2;
/** Answer the datagram, a plain STUN Binding request, from the worker. */
export const ANSWER_STUN = 3;

/** How a worker's forwarding is set up. */
export interface WorkerForwardingOptions {
  /** The device's control cells, shared by the main thread and every worker. */
  control: Int32Array;
  /** Whether SWIM datagrams are forwarded at all (mesh mode). */
  forwardSwim: boolean;
  /** The per-source limiter (default: SWIM_SOURCE_RATE, SWIM_SOURCE_BURST, random seed). */
  sources?: SourceRateLimiter;
  /** The per-source limiter of STUN answers (default: STUN_SOURCE_RATE, STUN_SOURCE_BURST). */
  stunSources?: SourceRateLimiter;
}

/** One worker's forwarding decisions (no allocation per datagram). */
export class WorkerForwarding {
  private readonly control: Int32Array;
  private readonly forwardSwim: boolean;
  private readonly sources: SourceRateLimiter;
  private readonly stunSources: SourceRateLimiter;
  private swimInBatch = 0;

  constructor(options: WorkerForwardingOptions) {
    this.control = options.control;
    this.forwardSwim = options.forwardSwim;
    this.sources = options.sources ?? new SourceRateLimiter({
      buckets: SWIM_SOURCE_BUCKETS,
      ratePerSecond: SWIM_SOURCE_RATE,
      burst: SWIM_SOURCE_BURST,
    });
    this.stunSources = options.stunSources ?? new SourceRateLimiter({
      buckets: STUN_SOURCE_BUCKETS,
      ratePerSecond: STUN_SOURCE_RATE,
      burst: STUN_SOURCE_BURST,
    });
  }

  /** A new receive batch starts (the per-batch SWIM count restarts). */
  startBatch(): void {
    this.swimInBatch = 0;
  }

  /**
   * KEEP, FORWARD_HANDSHAKE, FORWARD_SWIM or ANSWER_STUN for a datagram from `source` that is
   * not transport data. A forwarded datagram counts as in flight until the main thread has
   * handled it.
   */
  decide(datagram: Uint8Array, source: Endpoint, now: number): number {
    const kind = classifyDatagram(datagram);
    const control = this.control;
    if (kind === PORT_STUN && this.forwardSwim) return this.decideStun(datagram, source, now);
    if (kind === PORT_WIREGUARD_HANDSHAKE) {
      // The main thread's handshake queue is bounded; so is what waits to reach it.
      if (Atomics.add(control, CONTROL_HANDSHAKES_IN_FLIGHT, 1) < MAX_QUEUED_INCOMING_HANDSHAKES) {
        return FORWARD_HANDSHAKE;
      }
      Atomics.sub(control, CONTROL_HANDSHAKES_IN_FLIGHT, 1);
      return KEEP;
    }
    if (!this.forwardSwim || kind !== PORT_SWIM) return KEEP;
    // Cheapest first: header and size, then the source's rate, then the shared backlog.
    if (!plausibleSwimDatagram(datagram)) {
      Atomics.add(control, CONTROL_SWIM_MALFORMED, 1);
      return KEEP;
    }
    return this.toMainThread(source, now);
  }

  /**
   * A plain Binding request is answered (rate permitting); a Binding response goes to the main
   * thread like SWIM; anything else with STUN's cookie is dropped and counted.
   */
  private decideStun(datagram: Uint8Array, source: Endpoint, now: number): number {
    const control = this.control;
    if (isPlainBindingRequest(datagram, datagram.length)) {
      if (!this.stunSources.allow(source.address, now)) {
        Atomics.add(control, CONTROL_STUN_RATE_LIMITED, 1);
        return KEEP;
      }
      Atomics.add(control, CONTROL_STUN_ANSWERED, 1);
      return ANSWER_STUN;
    }
    if (looksLikeBindingResponse(datagram, datagram.length)) return this.toMainThread(source, now);
    Atomics.add(control, CONTROL_STUN_MALFORMED, 1);
    return KEEP;
  }

  /** FORWARD_SWIM if the source's rate, the batch and the shared backlog allow it. */
  private toMainThread(source: Endpoint, now: number): number {
    const control = this.control;
    if (!this.sources.allow(source.address, now)) {
      Atomics.add(control, CONTROL_SWIM_RATE_LIMITED, 1);
      return KEEP;
    }
    if (this.swimInBatch >= MAX_FORWARDED_SWIM) {
      Atomics.add(control, CONTROL_SWIM_QUEUE_FULL, 1);
      return KEEP;
    }
    if (Atomics.add(control, CONTROL_SWIM_IN_FLIGHT, 1) >= MAX_SWIM_IN_FLIGHT) {
      Atomics.sub(control, CONTROL_SWIM_IN_FLIGHT, 1);
      Atomics.add(control, CONTROL_SWIM_QUEUE_FULL, 1);
      return KEEP;
    }
    this.swimInBatch++;
    return FORWARD_SWIM;
  }
}

/** SWIM datagrams the workers dropped before the main thread, by reason (since start). */
export interface SwimForwardingDrops {
  malformed: number;
  rateLimited: number;
  queueFull: number;
}

/** What the workers did with STUN datagrams (since start). */
export interface StunServing {
  answered: number;
  rateLimited: number;
  malformed: number;
}

/** Reads the STUN counters from the control cells. */
export function stunServing(control: Int32Array): StunServing {
  return {
    answered: Atomics.load(control, CONTROL_STUN_ANSWERED) >>> 0,
    rateLimited: Atomics.load(control, CONTROL_STUN_RATE_LIMITED) >>> 0,
    malformed: Atomics.load(control, CONTROL_STUN_MALFORMED) >>> 0,
  };
}

/** Reads the drop counters from the control cells. */
export function swimForwardingDrops(control: Int32Array): SwimForwardingDrops {
  return {
    malformed: Atomics.load(control, CONTROL_SWIM_MALFORMED) >>> 0,
    rateLimited: Atomics.load(control, CONTROL_SWIM_RATE_LIMITED) >>> 0,
    queueFull: Atomics.load(control, CONTROL_SWIM_QUEUE_FULL) >>> 0,
  };
}

/** The main thread handled `count` forwarded SWIM datagrams: they no longer count in flight. */
export function swimHandled(control: Int32Array, count: number): void {
  Atomics.sub(control, CONTROL_SWIM_IN_FLIGHT, count);
}
