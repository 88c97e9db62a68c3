// meshguard packet core: every per-packet and per-handshake symmetric primitive WireGuard
// needs, working on bytes that already sit in (shared) linear memory. All pointers are byte
// addresses in that memory; the layout is described in wasm/LAYOUT.md. Nothing here allocates.

import { openCore, sealCore, xopenCore, xsealCore } from "./aead";
import { openBatchCore, sealBatchCore } from "./batch";
import { blake2sFinalCore, blake2sInitCore, blake2sUpdateCore } from "./blake2s";
import { checksumSumCore } from "./checksum";
import { chachaBlockXor, chachaXorStream, hchacha20Core, quarterRoundAt } from "./chacha20";
import { blake2sOneShot, hmacCore, kdfCore } from "./hmac_kdf";
import { polyFinish, polyInit, polyRaw } from "./poly1305";
import { REPLAY_SLOT_BYTES, replayCheckCore, replayResetCore } from "./replay";
import { S_KEYSTREAM, scratchBase } from "./scratch";

export { hasSimd, scratchBytes, setScratch, setTables } from "./scratch";

/** ChaCha20-Poly1305 seal in place: `len` bytes at `data`, tag written to `data + len`. */
export function aeadSeal(
  key: usize,
  nonce: usize,
  aad: usize,
  aadLen: u32,
  data: usize,
  len: u32,
): void {
  sealCore(key, nonce, aad, aadLen, data, len);
}

/** ChaCha20-Poly1305 open in place; 1 = authentic and decrypted, 0 = rejected, untouched. */
export function aeadOpen(
  key: usize,
  nonce: usize,
  aad: usize,
  aadLen: u32,
  data: usize,
  len: u32,
): u32 {
  return openCore(key, nonce, aad, aadLen, data, len);
}

/** XChaCha20-Poly1305 seal in place with a 24-byte nonce. */
export function xaeadSeal(
  key: usize,
  nonce: usize,
  aad: usize,
  aadLen: u32,
  data: usize,
  len: u32,
): void {
  xsealCore(key, nonce, aad, aadLen, data, len);
}

/** XChaCha20-Poly1305 open in place with a 24-byte nonce; 1 = ok, 0 = rejected, untouched. */
export function xaeadOpen(
  key: usize,
  nonce: usize,
  aad: usize,
  aadLen: u32,
  data: usize,
  len: u32,
): u32 {
  return xopenCore(key, nonce, aad, aadLen, data, len);
}

/** Raw ChaCha20: XORs the keystream from block `counter` on into `len` bytes at `data`. */
export function chacha20Xor(key: usize, nonce: usize, counter: u32, data: usize, len: u32): void {
  chachaXorStream(key, nonce, counter, data, len, scratchBase + S_KEYSTREAM);
}

/** Writes the 64-byte ChaCha20 block `counter` (RFC 8439 §2.3) to `out`. */
export function chacha20Block(key: usize, nonce: usize, counter: u32, out: usize): void {
  memory.fill(out, 0, 64);
  chachaBlockXor(key, nonce, counter, out);
}

/** QUARTERROUND(a, b, c, d) on the 16-word state at `state` (for RFC 8439 §2.1-2.2 tests). */
export function chacha20QuarterRound(state: usize, a: u32, b: u32, c: u32, d: u32): void {
  quarterRoundAt(state, a, b, c, d);
}

/** HChaCha20 of a 32-byte key and 16-byte nonce into 32 bytes at `out`. */
export function hchacha20(key: usize, nonce16: usize, out: usize): void {
  hchacha20Core(key, nonce16, out);
}

/** One-shot Poly1305 (RFC 8439 §2.5) of `len` bytes under a 32-byte one-time key. */
export function poly1305(key: usize, msg: usize, len: u32, out: usize): void {
  polyInit(key);
  polyRaw(msg, len);
  polyFinish(out);
}

/** One-shot BLAKE2s: `outLen` (1..32) bytes of the hash of `len` bytes, keyed if keyLen > 0. */
export function blake2s(
  out: usize,
  outLen: u32,
  data: usize,
  len: u32,
  key: usize,
  keyLen: u32,
): void {
  blake2sOneShot(out, outLen, data, len, key, keyLen);
}

/** Starts an incremental BLAKE2s in the 128-byte state record at `state`. */
export function blake2sInit(state: usize, outLen: u32, key: usize, keyLen: u32): void {
  blake2sInitCore(state, outLen, key, keyLen);
}

/** Feeds `len` bytes to an incremental BLAKE2s. */
export function blake2sUpdate(state: usize, data: usize, len: u32): void {
  blake2sUpdateCore(state, data, len);
}

/** Finishes an incremental BLAKE2s into `out` and wipes the state. */
export function blake2sFinal(state: usize, out: usize): void {
  blake2sFinalCore(state, out);
}

/** HMAC-BLAKE2s-256 into 32 bytes at `out`. */
export function hmacBlake2s(out: usize, key: usize, keyLen: u32, data: usize, len: u32): void {
  hmacCore(out, key, keyLen, data, len);
}

/** WireGuard KDF_n (n = 1..3): n × 32 bytes at `out`; returns 0 for a bad n. */
export function kdf(out: usize, n: u32, key: usize, keyLen: u32, data: usize, len: u32): u32 {
  return kdfCore(out, n, key, keyLen, data, len);
}

/** Clears the replay window of `slot`. */
export function replayReset(slot: u32): void {
  replayResetCore(slot);
}

/** Kernel-semantics replay check of `counter` on `slot`: 1 = accept (and record), 0 = reject. */
export function replayCheck(slot: u32, counter: u64): u32 {
  return replayCheckCore(slot, counter);
}

/** Bytes of one replay slot record, for the TS layout check. */
export function replaySlotBytes(): u32 {
  return REPLAY_SLOT_BYTES;
}

/** Seals `count` descriptors at `table` in place; returns the number sealed. */
export function sealBatch(table: usize, count: u32): u32 {
  return sealBatchCore(table, count);
}

/** Opens `count` descriptors at `table` in place, optionally replay-checked; returns the number accepted. */
export function openBatch(table: usize, count: u32, checkReplay: u32): u32 {
  return openBatchCore(table, count, checkReplay);
}

/** Folded 16-bit ones' complement sum (not inverted) of `len` bytes: TCP/UDP/IPv4 checksums. */
export function checksumSum(data: usize, len: u32): u32 {
  return checksumSumCore(data, len);
}
