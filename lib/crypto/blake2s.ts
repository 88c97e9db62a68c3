/**
 * BLAKE2s, HMAC-BLAKE2s and WireGuard's KDF1/2/3 on byte arrays (handshake side). Inputs are
 * copied into the instance's staging area; outputs are fresh arrays.
 */

import type { CryptoCore } from "./crypto_core.ts";
import { CryptoInputError } from "./errors.ts";

/** Largest BLAKE2s digest, and the HMAC/KDF output size. */
export const BLAKE2S_HASH_BYTES = 32;
/** Largest BLAKE2s key. */
export const BLAKE2S_MAX_KEY_BYTES = 32;

const EMPTY = new Uint8Array(0);
// Staging area: key (up to 64 B for HMAC), output (up to 96 B), then the input.
const ST_KEY = 0;
const ST_OUT = 64;
const ST_IN = 160;

function stage(core: CryptoCore, key: Uint8Array, input: Uint8Array): void {
  if (ST_IN + input.length > core.layout.stagingBytes) {
    throw new CryptoInputError(
      `input of ${input.length} bytes exceeds the ${
        core.layout.stagingBytes - ST_IN
      }-byte staging room; hash it through the pointer API`,
    );
  }
  core.bytes.set(key, core.stagingBase + ST_KEY);
  core.bytes.set(input, core.stagingBase + ST_IN);
}

function collect(core: CryptoCore, len: number): Uint8Array {
  const base = core.stagingBase;
  const out = core.bytes.slice(base + ST_OUT, base + ST_OUT + len);
  core.bytes.fill(0, base, base + ST_IN);
  return out;
}

/** Options for blake2s: digest length (1..32, default 32) and an optional key (0..32 bytes). */
export interface Blake2sOptions {
  outLen?: number;
  key?: Uint8Array;
}

/** BLAKE2s of `input` (RFC 7693): unkeyed 32 bytes by default; MAC1/MAC2 use outLen 16 + key. */
export function blake2s(
  core: CryptoCore,
  input: Uint8Array,
  options: Blake2sOptions = {},
): Uint8Array {
  const outLen = options.outLen ?? BLAKE2S_HASH_BYTES;
  const key = options.key ?? EMPTY;
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > BLAKE2S_HASH_BYTES) {
    throw new CryptoInputError(`BLAKE2s output length must be 1..32, got ${outLen}`);
  }
  if (key.length > BLAKE2S_MAX_KEY_BYTES) {
    throw new CryptoInputError(`BLAKE2s key must be at most 32 bytes, got ${key.length}`);
  }
  stage(core, key, input);
  const base = core.stagingBase;
  core.exports.blake2s(
    base + ST_OUT,
    outLen,
    base + ST_IN,
    input.length,
    base + ST_KEY,
    key.length,
  );
  return collect(core, outLen);
}

/** HMAC-BLAKE2s-256 (RFC 2104 over BLAKE2s, 64-byte blocks); keys over 64 bytes are hashed. */
export function hmacBlake2s(core: CryptoCore, key: Uint8Array, input: Uint8Array): Uint8Array {
  if (key.length > 64) {
    return hmacBlake2s(core, blake2s(core, key), input);
  }
  stage(core, key, input);
  const base = core.stagingBase;
  core.exports.hmacBlake2s(base + ST_OUT, base + ST_KEY, key.length, base + ST_IN, input.length);
  return collect(core, BLAKE2S_HASH_BYTES);
}

/**
 * WireGuard KDF_n (n = 1, 2 or 3): HKDF with HMAC-BLAKE2s, returning n 32-byte keys
 * (τ1..τn in the WireGuard paper, §5.4).
 */
export function kdf(
  core: CryptoCore,
  n: 1 | 2 | 3,
  key: Uint8Array,
  input: Uint8Array,
): Uint8Array[] {
  if (n !== 1 && n !== 2 && n !== 3) {
    throw new CryptoInputError(`KDF output count must be 1, 2 or 3, got ${n}`);
  }
  if (key.length > 64) {
    throw new CryptoInputError(`KDF key must be at most 64 bytes, got ${key.length}`);
  }
  stage(core, key, input);
  const base = core.stagingBase;
  core.exports.kdf(base + ST_OUT, n, base + ST_KEY, key.length, base + ST_IN, input.length);
  const all = collect(core, n * BLAKE2S_HASH_BYTES);
  return Array.from({ length: n }, (_, i) => all.slice(i * 32, i * 32 + 32));
}
