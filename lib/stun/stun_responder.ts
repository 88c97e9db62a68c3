/**
 * STUN answers for a socket that is not the device's (the gossip-only port, `--no-tun`): the
 * same stateless, rate-limited answer the data workers give (`lib/device/worker_forwarding.ts`),
 * for a transport that sees datagrams one at a time on the main thread.
 */

import { SourceRateLimiter } from "../device/source_rate_limiter.ts";
import {
  STUN_SOURCE_BUCKETS,
  STUN_SOURCE_BURST,
  STUN_SOURCE_RATE,
} from "../device/worker_forwarding.ts";
import {
  isPlainBindingRequest,
  MAX_BINDING_SUCCESS_BYTES,
  writeBindingSuccess,
} from "./stun_message.ts";

/** Answers plain Binding requests, at most STUN_SOURCE_RATE a second per source address. */
export class StunResponder {
  readonly #limiter: SourceRateLimiter;
  readonly #out = new Uint8Array(MAX_BINDING_SUCCESS_BYTES);
  /** Requests answered, refused for rate, and STUN-looking datagrams dropped as malformed. */
  readonly counters = { answered: 0, rateLimited: 0, malformed: 0 };

  constructor(limiter?: SourceRateLimiter) {
    this.#limiter = limiter ?? new SourceRateLimiter({
      buckets: STUN_SOURCE_BUCKETS,
      ratePerSecond: STUN_SOURCE_RATE,
      burst: STUN_SOURCE_BURST,
    });
  }

  /**
   * The answer to `request` from `address` (4 or 16 bytes) and `port` (a view of a buffer reused
   * by the next call: send it before calling again), or null when nothing is owed.
   */
  answer(request: Uint8Array, address: Uint8Array, port: number, now: number): Uint8Array | null {
    if (!isPlainBindingRequest(request, request.length)) {
      this.counters.malformed++;
      return null;
    }
    if (!this.#limiter.allow(address, now)) {
      this.counters.rateLimited++;
      return null;
    }
    this.counters.answered++;
    return this.#out.subarray(0, writeBindingSuccess(this.#out, request, address, port));
  }
}
