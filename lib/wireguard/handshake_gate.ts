/**
 * The gate in front of the expensive handshake work (design invariant 4): a bounded queue of
 * incoming handshake messages, the kernel's "under load" rule, MAC1 on everything, MAC2 and
 * cookie replies under load, and per-source rate limiting of what carries a valid cookie.
 * Nothing here does X25519.
 */

import {
  MAX_QUEUED_INCOMING_HANDSHAKES,
  MESSAGE_HANDSHAKE_INITIATION,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_RESPONSE_SIZE,
  UNDER_LOAD_AFTER_TIME,
  UNDER_LOAD_QUEUE_LENGTH,
} from "./constants.ts";
import { CookieChecker } from "./cookie.ts";
import type { Endpoint } from "./endpoint.ts";
import type { NoisePrimitives } from "./noise_primitives.ts";
import { HandshakeRateLimiter } from "./handshake_rate_limiter.ts";

/** A queued handshake message and where it came from. */
export interface QueuedHandshake {
  bytes: Uint8Array;
  source: Endpoint;
}

/** What to do with one initiation or response. */
export type GateVerdict = "process" | "invalid-mac" | "needs-cookie" | "rate-limited";

/** Queue, load state and cheap checks for one device. */
export class HandshakeGate {
  private queue: QueuedHandshake[] = [];
  private head = 0;
  private lastUnderLoadAt = -Infinity;
  private readonly limiter = new HandshakeRateLimiter();
  private checker: CookieChecker;

  constructor(private readonly p: NoisePrimitives, localPublicKey: Uint8Array, now: number) {
    this.checker = new CookieChecker(p, localPublicKey, now);
  }

  /** Rebinds MAC1/cookie keys after the device's key changed. */
  setLocalPublicKey(localPublicKey: Uint8Array, now: number): void {
    this.checker = new CookieChecker(this.p, localPublicKey, now);
  }

  /** Messages waiting. */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** Queues a copy of a message; false (dropped) when the queue is full. */
  enqueue(bytes: Uint8Array, source: Endpoint): boolean {
    if (this.length >= MAX_QUEUED_INCOMING_HANDSHAKES) return false;
    // Both are copied: the caller reuses its receive buffers for the next datagram.
    this.queue.push({
      bytes: bytes.slice(),
      source: { address: source.address.slice(), port: source.port },
    });
    return true;
  }

  /**
   * Takes the oldest message, with whether the device is under load right now: the kernel
   * measures the queue behind the message, and stays under load for a second after.
   */
  next(now: number): (QueuedHandshake & { underLoad: boolean }) | null {
    if (this.length === 0) return null;
    let underLoad: boolean;
    if (this.length >= UNDER_LOAD_QUEUE_LENGTH) {
      this.lastUnderLoadAt = now;
      underLoad = true;
    } else underLoad = now - this.lastUnderLoadAt < UNDER_LOAD_AFTER_TIME;
    const item = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return { ...item, underLoad };
  }

  /** The cheap checks for an initiation (type 1) or response (type 2), in the kernel's order. */
  check(bytes: Uint8Array, source: Endpoint, now: number, underLoad: boolean): GateVerdict {
    const size = bytes[0] === MESSAGE_HANDSHAKE_INITIATION
      ? MESSAGE_INITIATION_SIZE
      : MESSAGE_RESPONSE_SIZE;
    if (bytes.length !== size || !this.checker.checkMac1(bytes)) return "invalid-mac";
    if (!underLoad) return "process";
    if (!this.checker.checkMac2(bytes, source, now)) return "needs-cookie";
    return this.limiter.allow(source.address, now) ? "process" : "rate-limited";
  }

  /** The cookie reply that tells `source` how to pass MAC2. */
  cookieReply(bytes: Uint8Array, source: Endpoint, now: number): Uint8Array {
    return this.checker.createReply(bytes, source, now);
  }
}
