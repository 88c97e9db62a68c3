// HMAC-BLAKE2s (RFC 2104 with BLAKE2s-256, block size 64) and WireGuard's KDF_n, which is
// HKDF (RFC 5869) over that HMAC with an empty info and n = 1..3 outputs (WireGuard paper §5.4):
//   tau0 = HMAC(key, input); tau1 = HMAC(tau0, 0x1); tau_i = HMAC(tau0, tau_{i-1} ‖ i).

import {
  BLAKE2S_BLOCKBYTES,
  BLAKE2S_OUTBYTES,
  blake2sFinalCore,
  blake2sInitCore,
  blake2sUpdateCore,
} from "./blake2s";
import { S_BLAKE, S_HMAC_INNER, S_HMAC_KEY, S_KDF_BUF, S_KDF_PRK, scratchBase } from "./scratch";

const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

function xorByte(p: usize, len: u32, b: u8): void {
  const wide: u64 = <u64> b * 0x0101010101010101;
  for (let i: u32 = 0; i < len; i += 8) store<u64>(p + i, load<u64>(p + i) ^ wide);
}

/** One-shot BLAKE2s of `len` bytes into `outLen` bytes at `out`, keyed when keyLen > 0. */
export function blake2sOneShot(
  out: usize,
  outLen: u32,
  p: usize,
  len: u32,
  key: usize,
  keyLen: u32,
): void {
  const st = scratchBase + S_BLAKE;
  blake2sInitCore(st, outLen, key, keyLen);
  blake2sUpdateCore(st, p, len);
  blake2sFinalCore(st, out);
}

/**
 * HMAC-BLAKE2s-256 of `len` bytes at `p` under a `keyLen`-byte key; 32 bytes to `out`.
 * `out` is written only after the input is consumed, so it may alias the input.
 */
export function hmacCore(out: usize, key: usize, keyLen: u32, p: usize, len: u32): void {
  const kb = scratchBase + S_HMAC_KEY;
  const inner = scratchBase + S_HMAC_INNER;
  const st = scratchBase + S_BLAKE;
  memory.fill(kb, 0, BLAKE2S_BLOCKBYTES);
  if (keyLen > BLAKE2S_BLOCKBYTES) {
    blake2sOneShot(kb, BLAKE2S_OUTBYTES, key, keyLen, 0, 0);
  } else {
    memory.copy(kb, key, keyLen);
  }
  xorByte(kb, BLAKE2S_BLOCKBYTES, IPAD);
  blake2sInitCore(st, BLAKE2S_OUTBYTES, 0, 0);
  blake2sUpdateCore(st, kb, BLAKE2S_BLOCKBYTES);
  blake2sUpdateCore(st, p, len);
  blake2sFinalCore(st, inner);
  xorByte(kb, BLAKE2S_BLOCKBYTES, IPAD ^ OPAD);
  blake2sInitCore(st, BLAKE2S_OUTBYTES, 0, 0);
  blake2sUpdateCore(st, kb, BLAKE2S_BLOCKBYTES);
  blake2sUpdateCore(st, inner, BLAKE2S_OUTBYTES);
  blake2sFinalCore(st, out);
  memory.fill(kb, 0, BLAKE2S_BLOCKBYTES);
  memory.fill(inner, 0, BLAKE2S_OUTBYTES);
}

/** KDF_n: writes n (1..3) consecutive 32-byte outputs to `out`. Returns 0 for a bad n. */
export function kdfCore(out: usize, n: u32, key: usize, keyLen: u32, p: usize, len: u32): u32 {
  if (n < 1 || n > 3) return 0;
  const prk = scratchBase + S_KDF_PRK;
  const buf = scratchBase + S_KDF_BUF;
  hmacCore(prk, key, keyLen, p, len);
  store<u8>(buf, 1);
  hmacCore(out, prk, BLAKE2S_OUTBYTES, buf, 1);
  for (let i: u32 = 2; i <= n; i++) {
    const prev = out + (<usize> (i - 2) << 5);
    memory.copy(buf, prev, BLAKE2S_OUTBYTES);
    store<u8>(buf + BLAKE2S_OUTBYTES, <u8> i);
    hmacCore(prev + BLAKE2S_OUTBYTES, prk, BLAKE2S_OUTBYTES, buf, BLAKE2S_OUTBYTES + 1);
  }
  memory.fill(prk, 0, BLAKE2S_OUTBYTES);
  memory.fill(buf, 0, BLAKE2S_OUTBYTES + 1);
  return 1;
}
