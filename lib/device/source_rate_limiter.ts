/**
 * Token buckets per source address in a fixed table, for a data worker's hot path: no allocation
 * per datagram and no growth however many addresses an attacker spoofs. Addresses are not stored:
 * each hashes (with a per-process random seed, so nobody can aim collisions at a given peer) to
 * two buckets, and a datagram passes when either has a token. A flooder empties its own two
 * buckets; a legitimate peer that shares one of them still has its other one.
 */

/** How a limiter is sized and paced. */
export interface SourceRateLimiterOptions {
  /** Buckets in the table, a power of two. */
  buckets: number;
  /** Tokens each bucket gains per second. */
  ratePerSecond: number;
  /** Tokens a bucket holds at most (the burst an idle source may send at once). */
  burst: number;
  /** Hash seed; random when omitted (tests pass one to be reproducible). */
  seed?: number;
}

/** A fixed table of token buckets keyed by hashed source address. */
export class SourceRateLimiter {
  private readonly tokens: Float64Array;
  private readonly refilledAt: Float64Array;
  private readonly mask: number;
  private readonly perMillisecond: number;
  private readonly burst: number;
  private readonly seed: number;
  /** The two buckets `hash` found last (fields, so hashing allocates nothing). */
  private first = 0;
  private second = 0;

  constructor(options: SourceRateLimiterOptions) {
    const { buckets, ratePerSecond, burst } = options;
    if (!Number.isInteger(buckets) || buckets < 2 || (buckets & (buckets - 1)) !== 0) {
      throw new RangeError(`buckets must be a power of two >= 2, got ${buckets}`);
    }
    if (!(ratePerSecond > 0) || !(burst >= 1)) {
      throw new RangeError(`rate ${ratePerSecond}/s and burst ${burst} must be positive`);
    }
    this.tokens = new Float64Array(buckets).fill(burst);
    this.refilledAt = new Float64Array(buckets).fill(-Infinity);
    this.mask = buckets - 1;
    this.perMillisecond = ratePerSecond / 1000;
    this.burst = burst;
    this.seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
  }

  /** True when a datagram from `address` (4 or 16 bytes) may pass at `now` (ms); takes a token. */
  allow(address: Uint8Array, now: number): boolean {
    this.hash(address);
    const a = this.take(this.first, now);
    const b = this.take(this.second, now);
    return a || b;
  }

  /** The two buckets `address` uses (for tests and diagnostics). */
  bucketsOf(address: Uint8Array): [number, number] {
    this.hash(address);
    return [this.first, this.second];
  }

  /** Leaves `address`'s two distinct buckets in `first` and `second` (no allocation). */
  private hash(address: Uint8Array): void {
    let h = this.seed ^ address.length;
    for (let i = 0; i < address.length; i++) h = Math.imul(h ^ address[i], 0x01000193);
    const first = mix(h) & this.mask;
    const second = mix(h ^ 0x9e3779b9) & this.mask;
    this.first = first;
    this.second = second === first ? (first + 1) & this.mask : second;
  }

  /** Refills bucket `i` to `now` and takes a token if it has one. */
  private take(i: number, now: number): boolean {
    const elapsed = now - this.refilledAt[i];
    this.refilledAt[i] = now;
    const tokens = Math.min(this.burst, this.tokens[i] + elapsed * this.perMillisecond);
    if (tokens >= 1) {
      this.tokens[i] = tokens - 1;
      return true;
    }
    this.tokens[i] = tokens;
    return false;
  }
}

/** murmur3's 32-bit finaliser: spreads every input bit over the whole word. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
