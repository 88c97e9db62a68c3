// The SIMD build's seal/open inner loop: the 4-block ChaCha20 kernel with Poly1305 "stitched"
// into it. ChaCha20 keeps the vector units busy and Poly1305 the scalar multipliers; as two
// passes they run one after the other, interleaved in one loop the CPU overlaps them. Each
// double round carries one 2-way Poly1305 step (32 bytes), so one 256-byte chunk of keystream
// absorbs up to 256 bytes of ciphertext.
//
// The quarter-round and output code is chachaXor4's (chacha20.ts) and the Poly1305 step is the
// 2-way loop of polyBlocks (poly1305.ts), written out here so they share one loop body.

import { rotl12, rotl16, rotl7, rotl8, SIGMA0, SIGMA1, SIGMA2, SIGMA3, xorRows } from "./chacha20";
import { HIBIT, MASK26, P_H, P_R, P_R2 } from "./poly1305";
import { S_POLY, scratchBase } from "./scratch";

/**
 * Produces `chunks` × 256 bytes of keystream from block `counter` into `out` (XORed in place,
 * or stored when `overwrite`), while absorbing whole 32-byte pairs of ciphertext from `m` into
 * the Poly1305 state in scratch: at most `firstPairs` during the first chunk, 8 during each
 * later one, `totalPairs` overall. Returns the number of pairs absorbed.
 */
export function chachaPoly4(
  key: usize,
  nonce: usize,
  counter: u32,
  out: usize,
  chunks: u32,
  overwrite: bool,
  m: usize,
  firstPairs: u32,
  totalPairs: u32,
): u32 {
  const st = scratchBase + S_POLY;
  const r0 = <u64> load<u32>(st, P_R + 0);
  const r1 = <u64> load<u32>(st, P_R + 4);
  const r2 = <u64> load<u32>(st, P_R + 8);
  const r3 = <u64> load<u32>(st, P_R + 12);
  const r4 = <u64> load<u32>(st, P_R + 16);
  const s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
  const q0 = <u64> load<u32>(st, P_R2 + 0);
  const q1 = <u64> load<u32>(st, P_R2 + 4);
  const q2 = <u64> load<u32>(st, P_R2 + 8);
  const q3 = <u64> load<u32>(st, P_R2 + 12);
  const q4 = <u64> load<u32>(st, P_R2 + 16);
  const t1 = q1 * 5, t2 = q2 * 5, t3 = q3 * 5, t4 = q4 * 5;
  let h0 = <u64> load<u32>(st, P_H + 0);
  let h1 = <u64> load<u32>(st, P_H + 4);
  let h2 = <u64> load<u32>(st, P_H + 8);
  let h3 = <u64> load<u32>(st, P_H + 12);
  let h4 = <u64> load<u32>(st, P_H + 16);
  let left = totalPairs;
  const lanes = i32x4(0, 1, 2, 3);
  for (let c: u32 = 0; c < chunks; c++) {
    const cap: u32 = c == 0 ? firstPairs : 8;
    const pairs = left < cap ? left : cap;
    left -= pairs;
    const ctr = i32x4.add(i32x4.splat(counter + (c << 2)), lanes);
    let x0 = i32x4.splat(SIGMA0);
    let x1 = i32x4.splat(SIGMA1);
    let x2 = i32x4.splat(SIGMA2);
    let x3 = i32x4.splat(SIGMA3);
    let x4 = v128.load32_splat(key, 0);
    let x5 = v128.load32_splat(key, 4);
    let x6 = v128.load32_splat(key, 8);
    let x7 = v128.load32_splat(key, 12);
    let x8 = v128.load32_splat(key, 16);
    let x9 = v128.load32_splat(key, 20);
    let x10 = v128.load32_splat(key, 24);
    let x11 = v128.load32_splat(key, 28);
    let x12 = ctr;
    let x13 = v128.load32_splat(nonce, 0);
    let x14 = v128.load32_splat(nonce, 4);
    let x15 = v128.load32_splat(nonce, 8);
    for (let i: u32 = 0; i < 10; i++) {
      // Column round, the four quarter-rounds interleaved step by step.
      x0 = i32x4.add(x0, x4);
      x1 = i32x4.add(x1, x5);
      x2 = i32x4.add(x2, x6);
      x3 = i32x4.add(x3, x7);
      x12 = rotl16(v128.xor(x12, x0));
      x13 = rotl16(v128.xor(x13, x1));
      x14 = rotl16(v128.xor(x14, x2));
      x15 = rotl16(v128.xor(x15, x3));
      x8 = i32x4.add(x8, x12);
      x9 = i32x4.add(x9, x13);
      x10 = i32x4.add(x10, x14);
      x11 = i32x4.add(x11, x15);
      x4 = rotl12(v128.xor(x4, x8));
      x5 = rotl12(v128.xor(x5, x9));
      x6 = rotl12(v128.xor(x6, x10));
      x7 = rotl12(v128.xor(x7, x11));
      x0 = i32x4.add(x0, x4);
      x1 = i32x4.add(x1, x5);
      x2 = i32x4.add(x2, x6);
      x3 = i32x4.add(x3, x7);
      x12 = rotl8(v128.xor(x12, x0));
      x13 = rotl8(v128.xor(x13, x1));
      x14 = rotl8(v128.xor(x14, x2));
      x15 = rotl8(v128.xor(x15, x3));
      x8 = i32x4.add(x8, x12);
      x9 = i32x4.add(x9, x13);
      x10 = i32x4.add(x10, x14);
      x11 = i32x4.add(x11, x15);
      x4 = rotl7(v128.xor(x4, x8));
      x5 = rotl7(v128.xor(x5, x9));
      x6 = rotl7(v128.xor(x6, x10));
      x7 = rotl7(v128.xor(x7, x11));
      // Diagonal round.
      x0 = i32x4.add(x0, x5);
      x1 = i32x4.add(x1, x6);
      x2 = i32x4.add(x2, x7);
      x3 = i32x4.add(x3, x4);
      x15 = rotl16(v128.xor(x15, x0));
      x12 = rotl16(v128.xor(x12, x1));
      x13 = rotl16(v128.xor(x13, x2));
      x14 = rotl16(v128.xor(x14, x3));
      x10 = i32x4.add(x10, x15);
      x11 = i32x4.add(x11, x12);
      x8 = i32x4.add(x8, x13);
      x9 = i32x4.add(x9, x14);
      x5 = rotl12(v128.xor(x5, x10));
      x6 = rotl12(v128.xor(x6, x11));
      x7 = rotl12(v128.xor(x7, x8));
      x4 = rotl12(v128.xor(x4, x9));
      x0 = i32x4.add(x0, x5);
      x1 = i32x4.add(x1, x6);
      x2 = i32x4.add(x2, x7);
      x3 = i32x4.add(x3, x4);
      x15 = rotl8(v128.xor(x15, x0));
      x12 = rotl8(v128.xor(x12, x1));
      x13 = rotl8(v128.xor(x13, x2));
      x14 = rotl8(v128.xor(x14, x3));
      x10 = i32x4.add(x10, x15);
      x11 = i32x4.add(x11, x12);
      x8 = i32x4.add(x8, x13);
      x9 = i32x4.add(x9, x14);
      x5 = rotl7(v128.xor(x5, x10));
      x6 = rotl7(v128.xor(x6, x11));
      x7 = rotl7(v128.xor(x7, x8));
      x4 = rotl7(v128.xor(x4, x9));
      if (i < pairs) {
        // One 2-way Horner step, h = (h + m1)·r² + m2·r, on the scalar multipliers while the
        // vector units run the quarter-rounds above.
        const lo1 = load<u64>(m, 0);
        const hi1 = load<u64>(m, 8);
        const lo2 = load<u64>(m, 16);
        const hi2 = load<u64>(m, 24);
        const a0 = h0 + (lo1 & MASK26);
        const a1 = h1 + ((lo1 >> 26) & MASK26);
        const a2 = h2 + (((lo1 >> 52) | (hi1 << 12)) & MASK26);
        const a3 = h3 + ((hi1 >> 14) & MASK26);
        const a4 = h4 + ((hi1 >> 40) | HIBIT);
        const b0 = lo2 & MASK26;
        const b1 = (lo2 >> 26) & MASK26;
        const b2 = ((lo2 >> 52) | (hi2 << 12)) & MASK26;
        const b3 = (hi2 >> 14) & MASK26;
        const b4 = (hi2 >> 40) | HIBIT;
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
        m += 32;
      }
    }
    const q = out + (<usize> c << 8);
    xorRows(
      i32x4.add(x0, i32x4.splat(SIGMA0)),
      i32x4.add(x1, i32x4.splat(SIGMA1)),
      i32x4.add(x2, i32x4.splat(SIGMA2)),
      i32x4.add(x3, i32x4.splat(SIGMA3)),
      q,
      0,
      overwrite,
    );
    xorRows(
      i32x4.add(x4, v128.load32_splat(key, 0)),
      i32x4.add(x5, v128.load32_splat(key, 4)),
      i32x4.add(x6, v128.load32_splat(key, 8)),
      i32x4.add(x7, v128.load32_splat(key, 12)),
      q,
      16,
      overwrite,
    );
    xorRows(
      i32x4.add(x8, v128.load32_splat(key, 16)),
      i32x4.add(x9, v128.load32_splat(key, 20)),
      i32x4.add(x10, v128.load32_splat(key, 24)),
      i32x4.add(x11, v128.load32_splat(key, 28)),
      q,
      32,
      overwrite,
    );
    xorRows(
      i32x4.add(x12, ctr),
      i32x4.add(x13, v128.load32_splat(nonce, 0)),
      i32x4.add(x14, v128.load32_splat(nonce, 4)),
      i32x4.add(x15, v128.load32_splat(nonce, 8)),
      q,
      48,
      overwrite,
    );
  }
  store<u32>(st, <u32> h0, P_H + 0);
  store<u32>(st, <u32> h1, P_H + 4);
  store<u32>(st, <u32> h2, P_H + 8);
  store<u32>(st, <u32> h3, P_H + 12);
  store<u32>(st, <u32> h4, P_H + 16);
  return totalPairs - left;
}
