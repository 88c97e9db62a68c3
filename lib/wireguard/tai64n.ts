/** TAI64N timestamps for handshake initiations (replay protection across restarts). */

import { INITIATIONS_PER_SECOND, TIMESTAMP_LEN } from "./constants.ts";

/** TAI64 label of the Unix epoch: 2^62 + 10 leap seconds (as the kernel and wireguard-go). */
const TAI64_EPOCH = (1n << 62n) + 10n;

/**
 * Nanoseconds are rounded down to a power of two below 1 s / INITIATIONS_PER_SECOND, as the
 * kernel does, so the timestamp does not leak a fine-grained clock to observers.
 */
const NANOSECOND_GRANULARITY = (() => {
  const limit = 1_000_000_000 / INITIATIONS_PER_SECOND;
  let power = 1;
  while (power * 2 <= limit) power *= 2;
  return power;
})();

/** The 12-byte TAI64N label of a Unix time given in milliseconds (plus extra nanoseconds). */
export function tai64n(unixMilliseconds: number, extraNanoseconds = 0): Uint8Array {
  const out = new Uint8Array(TIMESTAMP_LEN);
  const view = new DataView(out.buffer);
  const seconds = Math.floor(unixMilliseconds / 1000);
  const nanoseconds = (unixMilliseconds - seconds * 1000) * 1_000_000 + extraNanoseconds;
  view.setBigUint64(0, TAI64_EPOCH + BigInt(seconds), false);
  view.setUint32(8, nanoseconds - (nanoseconds % NANOSECOND_GRANULARITY), false);
  return out;
}

/** True when TAI64N label `a` is strictly later than `b` (both 12 bytes, big-endian). */
export function tai64nAfter(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < TIMESTAMP_LEN; i++) {
    if (a[i] !== b[i]) return a[i] > b[i];
  }
  return false;
}
