// Poly1305 (RFC 8439 §2.5) with 26-bit limbs so every limb product fits an i64 multiply.
//
// Speed comes from a 2-way interleaved Horner step: two blocks at a time compute
// h = (h + m1)·r² + m2·r, which gives two independent multiply chains per step instead of
// one long dependent chain. State lives in scratch between calls (S_POLY) so a message can be
// fed in several pieces (AAD, ciphertext, length block) without re-deriving r².

import { S_POLY, S_POLY_BLOCK, scratchBase } from "./scratch";

export const MASK26: u64 = 0x3ffffff;
/** The 2^128 bit of every full 16-byte block, in limb 4 (bit 24 of limb 4 = bit 128). */
export const HIBIT: u64 = 1 << 24;

// Offsets inside the S_POLY area, all u32 limbs.
export const P_R: u32 = 0; // r0..r4
export const P_R2: u32 = 20; // (r^2)0..4
export const P_H: u32 = 40; // h0..h4
const P_PAD: u32 = 60; // s, 16 bytes (named "s" in RFC 8439; "pad" here to avoid 5r confusion)

/** Sets up r (clamped), r² and the pad from the 32-byte one-time key, and clears h. */
export function polyInit(key: usize): void {
  const st = scratchBase + S_POLY;
  const w0 = load<u32>(key, 0) & 0x0fffffff;
  const w1 = load<u32>(key, 4) & 0x0ffffffc;
  const w2 = load<u32>(key, 8) & 0x0ffffffc;
  const w3 = load<u32>(key, 12) & 0x0ffffffc;
  const r0 = <u64> (w0 & 0x3ffffff);
  const r1 = <u64> (((w0 >>> 26) | (w1 << 6)) & 0x3ffffff);
  const r2 = <u64> (((w1 >>> 20) | (w2 << 12)) & 0x3ffffff);
  const r3 = <u64> (((w2 >>> 14) | (w3 << 18)) & 0x3ffffff);
  const r4 = <u64> (w3 >>> 8);
  store<u32>(st, <u32> r0, P_R + 0);
  store<u32>(st, <u32> r1, P_R + 4);
  store<u32>(st, <u32> r2, P_R + 8);
  store<u32>(st, <u32> r3, P_R + 12);
  store<u32>(st, <u32> r4, P_R + 16);
  // r² mod p, carried down to 26-bit limbs (fully enough for the multiply bounds below).
  const s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
  let d0 = r0 * r0 + r1 * s4 + r2 * s3 + r3 * s2 + r4 * s1;
  let d1 = r0 * r1 + r1 * r0 + r2 * s4 + r3 * s3 + r4 * s2;
  let d2 = r0 * r2 + r1 * r1 + r2 * r0 + r3 * s4 + r4 * s3;
  let d3 = r0 * r3 + r1 * r2 + r2 * r1 + r3 * r0 + r4 * s4;
  let d4 = r0 * r4 + r1 * r3 + r2 * r2 + r3 * r1 + r4 * r0;
  d1 += d0 >> 26;
  d0 &= MASK26;
  d2 += d1 >> 26;
  d1 &= MASK26;
  d3 += d2 >> 26;
  d2 &= MASK26;
  d4 += d3 >> 26;
  d3 &= MASK26;
  d0 += (d4 >> 26) * 5;
  d4 &= MASK26;
  d1 += d0 >> 26;
  d0 &= MASK26;
  store<u32>(st, <u32> d0, P_R2 + 0);
  store<u32>(st, <u32> d1, P_R2 + 4);
  store<u32>(st, <u32> d2, P_R2 + 8);
  store<u32>(st, <u32> d3, P_R2 + 12);
  store<u32>(st, <u32> d4, P_R2 + 16);
  memory.fill(st + P_H, 0, 20);
  memory.copy(st + P_PAD, key + 16, 16);
}

/**
 * Absorbs `blocks` 16-byte blocks at `p`. `hibit` is HIBIT for ordinary blocks and 0 only for
 * the final, already 0x01-padded partial block of raw Poly1305.
 */
export function polyBlocks(p: usize, blocks: u32, hibit: u64): void {
  const st = scratchBase + S_POLY;
  const r0 = <u64> load<u32>(st, P_R + 0);
  const r1 = <u64> load<u32>(st, P_R + 4);
  const r2 = <u64> load<u32>(st, P_R + 8);
  const r3 = <u64> load<u32>(st, P_R + 12);
  const r4 = <u64> load<u32>(st, P_R + 16);
  const s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
  let h0 = <u64> load<u32>(st, P_H + 0);
  let h1 = <u64> load<u32>(st, P_H + 4);
  let h2 = <u64> load<u32>(st, P_H + 8);
  let h3 = <u64> load<u32>(st, P_H + 12);
  let h4 = <u64> load<u32>(st, P_H + 16);
  let n = blocks;
  if (n >= 2) {
    const q0 = <u64> load<u32>(st, P_R2 + 0);
    const q1 = <u64> load<u32>(st, P_R2 + 4);
    const q2 = <u64> load<u32>(st, P_R2 + 8);
    const q3 = <u64> load<u32>(st, P_R2 + 12);
    const q4 = <u64> load<u32>(st, P_R2 + 16);
    const t1 = q1 * 5, t2 = q2 * 5, t3 = q3 * 5, t4 = q4 * 5;
    while (n >= 2) {
      // a = h + m1 (multiplied by r²), b = m2 (multiplied by r).
      const lo1 = load<u64>(p, 0);
      const hi1 = load<u64>(p, 8);
      const lo2 = load<u64>(p, 16);
      const hi2 = load<u64>(p, 24);
      const a0 = h0 + (lo1 & MASK26);
      const a1 = h1 + ((lo1 >> 26) & MASK26);
      const a2 = h2 + (((lo1 >> 52) | (hi1 << 12)) & MASK26);
      const a3 = h3 + ((hi1 >> 14) & MASK26);
      const a4 = h4 + ((hi1 >> 40) | hibit);
      const b0 = lo2 & MASK26;
      const b1 = (lo2 >> 26) & MASK26;
      const b2 = ((lo2 >> 52) | (hi2 << 12)) & MASK26;
      const b3 = (hi2 >> 14) & MASK26;
      const b4 = (hi2 >> 40) | hibit;
      const d0 = a0 * q0 + a1 * t4 + a2 * t3 + a3 * t2 + a4 * t1 +
        b0 * r0 + b1 * s4 + b2 * s3 + b3 * s2 + b4 * s1;
      let d1 = a0 * q1 + a1 * q0 + a2 * t4 + a3 * t3 + a4 * t2 +
        b0 * r1 + b1 * r0 + b2 * s4 + b3 * s3 + b4 * s2;
      let d2 = a0 * q2 + a1 * q1 + a2 * q0 + a3 * t4 + a4 * t3 +
        b0 * r2 + b1 * r1 + b2 * r0 + b3 * s4 + b4 * s3;
      let d3 = a0 * q3 + a1 * q2 + a2 * q1 + a3 * q0 + a4 * t4 +
        b0 * r3 + b1 * r2 + b2 * r1 + b3 * r0 + b4 * s4;
      let d4 = a0 * q4 + a1 * q3 + a2 * q2 + a3 * q1 + a4 * q0 +
        b0 * r4 + b1 * r3 + b2 * r2 + b3 * r1 + b4 * r0;
      d1 += d0 >> 26;
      h0 = d0 & MASK26;
      d2 += d1 >> 26;
      h1 = d1 & MASK26;
      d3 += d2 >> 26;
      h2 = d2 & MASK26;
      d4 += d3 >> 26;
      h3 = d3 & MASK26;
      h0 += (d4 >> 26) * 5;
      h4 = d4 & MASK26;
      h1 += h0 >> 26;
      h0 &= MASK26;
      p += 32;
      n -= 2;
    }
  }
  if (n > 0) {
    const lo = load<u64>(p, 0);
    const hi = load<u64>(p, 8);
    h0 += lo & MASK26;
    h1 += (lo >> 26) & MASK26;
    h2 += ((lo >> 52) | (hi << 12)) & MASK26;
    h3 += (hi >> 14) & MASK26;
    h4 += (hi >> 40) | hibit;
    const d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
    let d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
    let d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
    let d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
    let d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
    d1 += d0 >> 26;
    h0 = d0 & MASK26;
    d2 += d1 >> 26;
    h1 = d1 & MASK26;
    d3 += d2 >> 26;
    h2 = d2 & MASK26;
    d4 += d3 >> 26;
    h3 = d3 & MASK26;
    h0 += (d4 >> 26) * 5;
    h4 = d4 & MASK26;
    h1 += h0 >> 26;
    h0 &= MASK26;
  }
  store<u32>(st, <u32> h0, P_H + 0);
  store<u32>(st, <u32> h1, P_H + 4);
  store<u32>(st, <u32> h2, P_H + 8);
  store<u32>(st, <u32> h3, P_H + 12);
  store<u32>(st, <u32> h4, P_H + 16);
}

/**
 * Absorbs `len` bytes as the AEAD construction does (RFC 8439 §2.8): full blocks as they are,
 * a trailing partial block zero-padded to 16 bytes (still with the 2^128 bit).
 */
export function polyPadded(p: usize, len: u32): void {
  const full = len >> 4;
  if (full > 0) polyBlocks(p, full, HIBIT);
  const rest = len & 15;
  if (rest > 0) {
    const blk = scratchBase + S_POLY_BLOCK;
    v128Zero16(blk);
    memory.copy(blk, p + (full << 4), rest);
    polyBlocks(blk, 1, HIBIT);
  }
}

/** Absorbs the AEAD length block: le64(aad length) ‖ le64(ciphertext length). */
export function polyLengths(aadLen: u32, len: u32): void {
  const blk = scratchBase + S_POLY_BLOCK;
  store<u64>(blk, <u64> aadLen, 0);
  store<u64>(blk, <u64> len, 8);
  polyBlocks(blk, 1, HIBIT);
}

/** Absorbs a raw Poly1305 message: the last partial block gets a 0x01 byte and no 2^128 bit. */
export function polyRaw(p: usize, len: u32): void {
  const full = len >> 4;
  if (full > 0) polyBlocks(p, full, HIBIT);
  const rest = len & 15;
  if (rest > 0) {
    const blk = scratchBase + S_POLY_BLOCK;
    v128Zero16(blk);
    memory.copy(blk, p + (full << 4), rest);
    store<u8>(blk + rest, 1);
    polyBlocks(blk, 1, 0);
  }
}

/** Finishes: fully reduces h mod 2^130-5, adds the pad mod 2^128 and writes the 16-byte tag. */
export function polyFinish(out: usize): void {
  const st = scratchBase + S_POLY;
  let h0 = load<u32>(st, P_H + 0);
  let h1 = load<u32>(st, P_H + 4);
  let h2 = load<u32>(st, P_H + 8);
  let h3 = load<u32>(st, P_H + 12);
  let h4 = load<u32>(st, P_H + 16);
  let c: u32;
  c = h1 >>> 26;
  h1 &= 0x3ffffff;
  h2 += c;
  c = h2 >>> 26;
  h2 &= 0x3ffffff;
  h3 += c;
  c = h3 >>> 26;
  h3 &= 0x3ffffff;
  h4 += c;
  c = h4 >>> 26;
  h4 &= 0x3ffffff;
  h0 += c * 5;
  c = h0 >>> 26;
  h0 &= 0x3ffffff;
  h1 += c;
  // g = h + 5 - 2^130; if that does not borrow, h >= p and g is the reduced value.
  let g0 = h0 + 5;
  c = g0 >>> 26;
  g0 &= 0x3ffffff;
  let g1 = h1 + c;
  c = g1 >>> 26;
  g1 &= 0x3ffffff;
  let g2 = h2 + c;
  c = g2 >>> 26;
  g2 &= 0x3ffffff;
  let g3 = h3 + c;
  c = g3 >>> 26;
  g3 &= 0x3ffffff;
  const g4 = h4 + c - (1 << 26);
  // Constant-time select: take g unless the subtraction borrowed (top bit of g4 set).
  const useG = (g4 >>> 31) - 1;
  const useH = ~useG;
  h0 = (h0 & useH) | (g0 & useG);
  h1 = (h1 & useH) | (g1 & useG);
  h2 = (h2 & useH) | (g2 & useG);
  h3 = (h3 & useH) | (g3 & useG);
  h4 = (h4 & useH) | (g4 & useG);
  const w0 = h0 | (h1 << 26);
  const w1 = (h1 >>> 6) | (h2 << 20);
  const w2 = (h2 >>> 12) | (h3 << 14);
  const w3 = (h3 >>> 18) | (h4 << 8);
  let f: u64 = <u64> w0 + <u64> load<u32>(st, P_PAD + 0);
  store<u32>(out, <u32> f, 0);
  f = <u64> w1 + <u64> load<u32>(st, P_PAD + 4) + (f >> 32);
  store<u32>(out, <u32> f, 4);
  f = <u64> w2 + <u64> load<u32>(st, P_PAD + 8) + (f >> 32);
  store<u32>(out, <u32> f, 8);
  f = <u64> w3 + <u64> load<u32>(st, P_PAD + 12) + (f >> 32);
  store<u32>(out, <u32> f, 12);
  // The one-time key must not outlive the message.
  memory.fill(st, 0, 76);
}

function v128Zero16(p: usize): void {
  store<u64>(p, 0, 0);
  store<u64>(p, 0, 8);
}

/** Constant-time comparison of two 16-byte tags; 1 when equal. */
export function tagsEqual(a: usize, b: usize): u32 {
  const d = (load<u64>(a, 0) ^ load<u64>(b, 0)) | (load<u64>(a, 8) ^ load<u64>(b, 8));
  // Fold to one bit without a data-dependent branch.
  const folded = <u32> (d >> 32) | <u32> d;
  return ((folded | (0 - folded)) >>> 31) ^ 1;
}
