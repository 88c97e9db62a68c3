// ChaCha20-Poly1305 (RFC 8439 §2.8) and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha §2),
// sealing and opening in place: the tag sits right after the message (`data + len`).
//
// Keystream blocks 0..3 are made in one pass: block 0 is the Poly1305 one-time key and blocks
// 1..3 encrypt the first 192 bytes, so short packets cost a single 4-block pass.

import {
  CHACHA_CHUNK,
  chachaBlockXor,
  chachaXor4,
  chachaXorStream,
  hchacha20Core,
  xorInto,
} from "./chacha20";
import { polyFinish, polyInit, polyLengths, polyPadded, tagsEqual } from "./poly1305";
import {
  OPEN_KEYSTREAM_BYTES,
  S_KEYSTREAM,
  S_NONCE,
  S_OPEN_KEYSTREAM,
  S_SUBKEY,
  S_TAG,
  scratchBase,
} from "./scratch";
import { chachaPoly4 } from "./stitched";

/** Keystream the first pass makes: four blocks with SIMD, only the key block without. */
const FIRST_PASS_BYTES: u32 = ASC_FEATURE_SIMD ? CHACHA_CHUNK : 64;
/** Of those, the bytes left for the message after the 64-byte key block. */
const HEAD_BYTES: u32 = FIRST_PASS_BYTES - 64;
/** Block counter where the in-place pass over the rest of the message starts. */
const BODY_COUNTER: u32 = FIRST_PASS_BYTES >> 6;
/** Poly1305 tag length (RFC 8439 §2.8). */
export const TAG_BYTES: u32 = 16;

/**
 * Keystream blocks 0..3 into scratch (SIMD) or block 0 (scalar), and Poly1305 keyed with block
 * 0. Messages of at most one block need only blocks 0 and 1, which the scalar block function
 * makes faster than a 4-block pass.
 */
function firstPass(key: usize, nonce: usize, len: u32): usize {
  const ks = scratchBase + S_KEYSTREAM;
  if (ASC_FEATURE_SIMD && len <= 64) {
    memory.fill(ks, 0, 128);
    chachaBlockXor(key, nonce, 0, ks);
    if (len > 0) chachaBlockXor(key, nonce, 1, ks + 64);
  } else {
    if (ASC_FEATURE_SIMD) {
      chachaXor4(key, nonce, 0, ks, 1, true);
    } else {
      memory.fill(ks, 0, FIRST_PASS_BYTES);
      chachaXorStream(key, nonce, 0, ks, FIRST_PASS_BYTES, ks);
    }
  }
  polyInit(ks);
  return ks;
}

/** Encrypts `len` bytes at `data` with the keystream from block 1 on. */
function encryptBody(key: usize, nonce: usize, ks: usize, data: usize, len: u32): void {
  const head = len < HEAD_BYTES ? len : HEAD_BYTES;
  if (head > 0) xorInto(data, ks + 64, head);
  if (len > HEAD_BYTES) {
    chachaXorStream(key, nonce, BODY_COUNTER, data + HEAD_BYTES, len - HEAD_BYTES, ks);
  }
}

/** Seals `len` bytes at `data` in place and writes the 16-byte tag at `data + len`. */
export function sealCore(
  key: usize,
  nonce: usize,
  aad: usize,
  aadLen: u32,
  data: usize,
  len: u32,
): void {
  const ks = firstPass(key, nonce, len);
  polyPadded(aad, aadLen);
  if (ASC_FEATURE_SIMD && len > HEAD_BYTES) {
    sealStitched(key, nonce, ks, data, len);
  } else {
    encryptBody(key, nonce, ks, data, len);
    polyPadded(data, len);
  }
  polyLengths(aadLen, len);
  polyFinish(data + len);
  memory.fill(ks, 0, FIRST_PASS_BYTES);
}

/**
 * SIMD seal of the message body: each 256-byte chunk's keystream is computed while Poly1305
 * absorbs the ciphertext already written before it; the remainder is absorbed at the end.
 */
function sealStitched(key: usize, nonce: usize, ks: usize, data: usize, len: u32): void {
  xorInto(data, ks + 64, HEAD_BYTES);
  const body = len - HEAD_BYTES;
  const full = body >> 8;
  const rest = body & 255;
  let pairs: u32 = 0;
  if (full > 0) {
    // Ciphertext ready before chunk c starts: the head plus c chunks, i.e. 6 + 8c pairs.
    pairs = chachaPoly4(
      key,
      nonce,
      BODY_COUNTER,
      data + HEAD_BYTES,
      full,
      false,
      data,
      6,
      6 + 8 * (full - 1),
    );
  }
  if (rest > 0) {
    const ready = (HEAD_BYTES + (full << 8)) >> 5;
    pairs += chachaPoly4(
      key,
      nonce,
      BODY_COUNTER + (full << 2),
      ks,
      1,
      true,
      data + (pairs << 5),
      ready - pairs,
      ready - pairs,
    );
    xorInto(data + HEAD_BYTES + (full << 8), ks, rest);
  }
  polyPadded(data + (pairs << 5), len - (pairs << 5));
}

/**
 * Opens `len` bytes of ciphertext at `data` whose tag is at `data + len`. Returns 1 and
 * decrypts in place when the tag verifies; returns 0 and leaves memory untouched otherwise.
 */
export function openCore(
  key: usize,
  nonce: usize,
  aad: usize,
  aadLen: u32,
  data: usize,
  len: u32,
): u32 {
  const ks = firstPass(key, nonce, len);
  polyPadded(aad, aadLen);
  const tag = scratchBase + S_TAG;
  if (ASC_FEATURE_SIMD && len > HEAD_BYTES && len - HEAD_BYTES <= OPEN_KEYSTREAM_BYTES) {
    // Keystream for the body goes to scratch while the ciphertext is authenticated; it is
    // applied only after the tag verified, so a forgery never puts plaintext in `data`.
    const body = len - HEAD_BYTES;
    const stream = scratchBase + S_OPEN_KEYSTREAM;
    const chunks = (body + 255) >> 8;
    const pairs = chachaPoly4(key, nonce, BODY_COUNTER, stream, chunks, true, data, 8, len >> 5);
    polyPadded(data + (pairs << 5), len - (pairs << 5));
    polyLengths(aadLen, len);
    polyFinish(tag);
    const ok = tagsEqual(tag, data + len);
    if (ok) {
      xorInto(data, ks + 64, HEAD_BYTES);
      xorInto(data + HEAD_BYTES, stream, body);
    }
    memory.fill(ks, 0, FIRST_PASS_BYTES);
    return ok;
  }
  polyPadded(data, len);
  polyLengths(aadLen, len);
  polyFinish(tag);
  const ok = tagsEqual(tag, data + len);
  if (ok) encryptBody(key, nonce, ks, data, len);
  memory.fill(ks, 0, FIRST_PASS_BYTES);
  return ok;
}

/** Derives the XChaCha20 subkey and 96-bit nonce (0^4 ‖ nonce[16..24]) into scratch. */
function xchachaSetup(key: usize, nonce24: usize): void {
  hchacha20Core(key, nonce24, scratchBase + S_SUBKEY);
  const n = scratchBase + S_NONCE;
  store<u32>(n, 0, 0);
  store<u64>(n, load<u64>(nonce24, 16), 4);
}

/** XChaCha20-Poly1305 seal in place; tag at `data + len`. */
export function xsealCore(
  key: usize,
  nonce24: usize,
  aad: usize,
  aadLen: u32,
  data: usize,
  len: u32,
): void {
  xchachaSetup(key, nonce24);
  sealCore(scratchBase + S_SUBKEY, scratchBase + S_NONCE, aad, aadLen, data, len);
  memory.fill(scratchBase + S_SUBKEY, 0, 32);
}

/** XChaCha20-Poly1305 open in place; 1 on success, 0 (memory untouched) on a bad tag. */
export function xopenCore(
  key: usize,
  nonce24: usize,
  aad: usize,
  aadLen: u32,
  data: usize,
  len: u32,
): u32 {
  xchachaSetup(key, nonce24);
  const ok = openCore(scratchBase + S_SUBKEY, scratchBase + S_NONCE, aad, aadLen, data, len);
  memory.fill(scratchBase + S_SUBKEY, 0, 32);
  return ok;
}
