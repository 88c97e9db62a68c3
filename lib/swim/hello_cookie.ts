/**
 * The seed's side of the Hello cookie (see hello.ts): stateless cookies bound to the joiner's
 * key, epoch and source address under a secret that rotates every
 * HELLO_COOKIE_SECRET_LIFETIME, and the per-source rate limit that cookie-bearing Hellos pass
 * before their signatures are checked. Cheap checks before expensive ones (invariant 4).
 */

import { createHmac } from "node:crypto";
import {
  HELLO_COOKIE_BYTES,
  HELLO_COOKIE_SECRET_LIFETIME,
  HELLO_SOURCE_BURST,
  HELLO_SOURCE_RATE,
  MAX_HELLO_SOURCES,
} from "./constants.ts";
import type { Address } from "./address.ts";
import { writeU64 } from "./header.ts";
import { TokenBucket } from "./token_bucket.ts";

/** Cookie secrets and per-source Hello buckets of one seed. */
export class HelloCookies {
  #current: Uint8Array | null = null;
  #previous: Uint8Array | null = null;
  #since = -Infinity;
  readonly #sources = new Map<Address, TokenBucket>();

  /** The cookie for a joiner key, epoch and source address at time `now`. */
  make(joiner: Uint8Array, epoch: number, from: Address, now: number): Uint8Array {
    this.#rotate(now);
    return cookieOf(this.#current!, joiner, epoch, from);
  }

  /** True when `cookie` is one we made (under this or the previous secret) for these values. */
  valid(cookie: Uint8Array, joiner: Uint8Array, epoch: number, from: Address, now: number) {
    this.#rotate(now);
    if (equal16(cookie, cookieOf(this.#current!, joiner, epoch, from))) return true;
    return this.#previous !== null &&
      equal16(cookie, cookieOf(this.#previous, joiner, epoch, from));
  }

  /** Takes one token from `from`'s bucket (bounded table, oldest source forgotten first). */
  takeSource(from: Address, now: number): boolean {
    let bucket = this.#sources.get(from);
    if (bucket === undefined) {
      if (this.#sources.size >= MAX_HELLO_SOURCES) {
        this.#sources.delete(this.#sources.keys().next().value!);
      }
      bucket = new TokenBucket(HELLO_SOURCE_RATE, HELLO_SOURCE_BURST);
      this.#sources.set(from, bucket);
    }
    return bucket.take(now);
  }

  /** Source addresses tracked (for table-size checks). */
  get sources(): number {
    return this.#sources.size;
  }

  #rotate(now: number): void {
    if (this.#current !== null && now - this.#since < HELLO_COOKIE_SECRET_LIFETIME) return;
    // Two lifetimes without a Hello: the previous secret is too old to honour as well.
    this.#previous = now - this.#since < 2 * HELLO_COOKIE_SECRET_LIFETIME ? this.#current : null;
    this.#current = crypto.getRandomValues(new Uint8Array(32));
    this.#since = now;
  }
}

function cookieOf(secret: Uint8Array, joiner: Uint8Array, epoch: number, from: Address) {
  const version = new Uint8Array(8);
  writeU64(version, 0, epoch);
  const mac = createHmac("sha256", secret).update(joiner).update(version).update(from).digest();
  return new Uint8Array(mac.buffer, mac.byteOffset, HELLO_COOKIE_BYTES);
}

function equal16(a: Uint8Array, b: Uint8Array): boolean {
  let difference = 0;
  for (let i = 0; i < HELLO_COOKIE_BYTES; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}
