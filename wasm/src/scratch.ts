// Per-instance state. Wasm globals are private to an instance, but linear memory is shared by
// every worker, so anything an operation needs to park in memory goes to this instance's own
// scratch area (see wasm/LAYOUT.md). The offsets below are relative to that area.

/** Bytes of scratch one instance owns; mirrored by lib/crypto/memory_layout.ts. */
export const SCRATCH_BYTES: u32 = 4096;

/** 256 B: four ChaCha20 keystream blocks (block 0 doubles as the Poly1305 key). */
export const S_KEYSTREAM: u32 = 0;
/** 128 B: Poly1305 r, 5r, r^2, 5r^2 limbs, accumulator h and the final pad. */
export const S_POLY: u32 = 256;
/** 32 B: a zero-padded partial Poly1305 block or the AEAD length block. */
export const S_POLY_BLOCK: u32 = 384;
/** 16 B: the tag an open computed, compared against the received one. */
export const S_TAG: u32 = 416;
/** 32 B: the XChaCha20 subkey from HChaCha20. */
export const S_SUBKEY: u32 = 432;
/** 16 B: a 96-bit IETF nonce assembled from a counter or an XChaCha nonce tail. */
export const S_NONCE: u32 = 464;
/** 128 B: BLAKE2s state for one-shot hashing and HMAC. */
export const S_BLAKE: u32 = 512;
/** 64 B: the HMAC key block (key xor ipad, then xor opad). */
export const S_HMAC_KEY: u32 = 640;
/** 32 B: the HMAC inner hash. */
export const S_HMAC_INNER: u32 = 704;
/** 32 B: KDF tau0, the pseudorandom key. */
export const S_KDF_PRK: u32 = 736;
/** 48 B: KDF input for tau_i = HMAC(tau0, tau_{i-1} || i). */
export const S_KDF_BUF: u32 = 768;
/**
 * 2048 B: keystream an open computes while it authenticates (SIMD build), applied only once the
 * tag verified. Messages whose body past the first 192 bytes is longer use two passes instead.
 */
export const S_OPEN_KEYSTREAM: u32 = 1024;
/** Size of S_OPEN_KEYSTREAM. */
export const OPEN_KEYSTREAM_BYTES: u32 = 2048;

/** Absolute address of this instance's scratch area; 0 until setScratch is called. */
export let scratchBase: usize = 0;
/** Address of key slot 0 (32 B each) and the number of slots. */
export let keySlotBase: usize = 0;
export let keySlotCount: u32 = 0;
/** Address of replay slot 0 and the number of slots. */
export let replaySlotBase: usize = 0;
export let replaySlotCount: u32 = 0;

/** Points this instance at its own scratch area (SCRATCH_BYTES, 16-byte aligned). */
export function setScratch(base: usize): void {
  scratchBase = base;
}

/** Tells this instance where the shared key-slot and replay-slot tables live. */
export function setTables(
  keyBase: usize,
  keyCount: u32,
  replayBase: usize,
  replayCount: u32,
): void {
  keySlotBase = keyBase;
  keySlotCount = keyCount;
  replaySlotBase = replayBase;
  replaySlotCount = replayCount;
}

/** SCRATCH_BYTES, so the TS side can check its layout against the module's. */
export function scratchBytes(): u32 {
  return SCRATCH_BYTES;
}

/** 1 when this build uses v128 SIMD, 0 for the scalar build. */
export function hasSimd(): u32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}
