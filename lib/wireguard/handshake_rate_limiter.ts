/**
 * Per-source token buckets for handshake initiations (the kernel's ratelimiter.c): at most
 * INITIATIONS_PER_SECOND from one source address, with a burst of INITIATIONS_BURSTABLE.
 * The table is bounded: when full, idle entries go first and then new sources are refused,
 * so an outsider cannot grow it.
 */

import { INITIATIONS_BURSTABLE, INITIATIONS_PER_SECOND } from "./constants.ts";

const TOKEN_MAX = INITIATIONS_BURSTABLE * 1000; // tokens in milli-packets
const TOKEN_COST = 1000;
/** An entry that has refilled completely carries no information and can be dropped. */
const IDLE_AFTER = TOKEN_MAX / INITIATIONS_PER_SECOND;

interface Bucket {
  tokens: number;
  last: number;
}

/** Token buckets keyed by source address (for IPv6, the /64, as the kernel does). */
export class HandshakeRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly capacity = 8192) {}

  /** Number of sources currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  /** True when an initiation from `sourceAddress` may be processed now (and takes a token). */
  allow(sourceAddress: Uint8Array, now: number): boolean {
    const key = sourceKey(sourceAddress);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.capacity) this.collect(now);
      if (this.buckets.size >= this.capacity) return false;
      bucket = { tokens: TOKEN_MAX, last: now };
      this.buckets.set(key, bucket);
    }
    const elapsed = Math.max(0, now - bucket.last);
    bucket.tokens = Math.min(TOKEN_MAX, bucket.tokens + elapsed * INITIATIONS_PER_SECOND);
    bucket.last = now;
    if (bucket.tokens < TOKEN_COST) return false;
    bucket.tokens -= TOKEN_COST;
    return true;
  }

  /** Drops entries that have been idle long enough to be full again. */
  collect(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (now - bucket.last >= IDLE_AFTER) this.buckets.delete(key);
    }
  }
}

function sourceKey(address: Uint8Array): string {
  // One IPv6 host usually owns a whole /64: limiting per /128 would be trivially evaded.
  const significant = address.length === 16 ? address.subarray(0, 8) : address;
  return String.fromCharCode(...significant);
}
