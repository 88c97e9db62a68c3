// ChaCha20-Poly1305 (RFC 8439 §2.8) and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha §2),
// sealing and opening in place: the tag sits right after the message (`data + len`).
//
// Keystream blocks 0..3 are made in one pass: block 0 is the Poly1305 one-time key and blocks
// 1..3 encrypt the first 192 bytes, so short packets cost a single 4-block pass.

import { CHACHA_CHUNK, chachaXorStream, hchacha20Core, xorInto } from "./chacha20";
import { polyFinish, polyInit, polyLengths, polyPadded, tagsEqual } from "./poly1305";
import { S_KEYSTREAM, S_NONCE, S_SUBKEY, S_TAG, scratchBase } from "./scratch";

/** Keystream the first pass makes: four blocks with SIMD, only the key block without. */
const FIRST_PASS_BYTES: u32 = ASC_FEATURE_SIMD ? CHACHA_CHUNK : 64;
/** Of those, the bytes left for the message after the 64-byte key block. */
const HEAD_BYTES: u32 = FIRST_PASS_BYTES - 64;
/** Block counter where the in-place pass over the rest of the message starts. */
const BODY_COUNTER: u32 = FIRST_PASS_BYTES >> 6;
/** Poly1305 tag length (RFC 8439 §2.8). */
export const TAG_BYTES: u32 = 16;

/** Keystream blocks 0..3 into scratch and Poly1305 keyed with block 0. */
function firstPass(key: usize, nonce: usize): usize {
  const ks = scratchBase + S_KEYSTREAM;
  memory.fill(ks, 0, FIRST_PASS_BYTES);
  chachaXorStream(key, nonce, 0, ks, FIRST_PASS_BYTES, ks);
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
  const ks = firstPass(key, nonce);
  encryptBody(key, nonce, ks, data, len);
  polyPadded(aad, aadLen);
  polyPadded(data, len);
  polyLengths(aadLen, len);
  polyFinish(data + len);
  memory.fill(ks, 0, FIRST_PASS_BYTES);
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
  const ks = firstPass(key, nonce);
  polyPadded(aad, aadLen);
  polyPadded(data, len);
  polyLengths(aadLen, len);
  const tag = scratchBase + S_TAG;
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
