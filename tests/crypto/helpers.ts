/** Shared helpers for the crypto suite: hex, a seeded PRNG, libsodium loading, cores. */

import { createRequire } from "node:module";
import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import type { CoreVariant } from "../../lib/crypto/core_module.ts";

/** Both builds; every correctness test runs against each. */
export const VARIANTS: readonly CoreVariant[] = ["simd", "scalar"];

/** Hex (whitespace and colons ignored) to bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/[\s:]/g, "");
  if (clean.length % 2 !== 0) throw new Error(`odd-length hex: ${clean.length} digits`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes to lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Deterministic PRNG (SplitMix32) so random tests are reproducible from a printed seed. */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Next 32-bit unsigned value. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** `n` pseudorandom bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.next();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  }
}

/** A fixed seed derived from a test name (FNV-1a), printed by tests when they fail. */
export function seedFor(name: string): number {
  let h = 2166136261;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h;
}

/** The parts of libsodium-wrappers the tests use. */
export interface Sodium {
  ready: Promise<void>;
  crypto_aead_chacha20poly1305_ietf_encrypt(
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): Uint8Array;
  crypto_aead_chacha20poly1305_ietf_decrypt(
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): Uint8Array;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): Uint8Array;
  crypto_aead_xchacha20poly1305_ietf_decrypt(
    nsec: null,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): Uint8Array;
}

let sodium: Promise<Sodium> | null = null;

/** libsodium-wrappers through its CommonJS build (its ESM entry does not resolve under Deno). */
export function loadSodium(): Promise<Sodium> {
  if (!sodium) {
    const require = createRequire(import.meta.url);
    const lib = require("libsodium-wrappers") as Sodium;
    sodium = lib.ready.then(() => lib);
  }
  return sodium;
}

const cores = new Map<CoreVariant, Promise<CryptoCore>>();

/** One shared single-instance core per variant for the whole test file. */
export function coreFor(variant: CoreVariant): Promise<CryptoCore> {
  let core = cores.get(variant);
  if (!core) {
    core = CryptoCore.create({ variant, instances: 1, arenaBytes: 1 << 20 });
    cores.set(variant, core);
  }
  return core;
}

/** Throws with a useful message unless two byte arrays are equal. */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (actual.length !== expected.length || actual.some((b, i) => b !== expected[i])) {
    throw new Error(`${what}: expected ${toHex(expected)}\n   got ${toHex(actual)}`);
  }
}
