// ChaCha20 (RFC 8439 §2.1-2.4) and HChaCha20 (draft-irtf-cfrg-xchacha §2.2).
//
// Two block functions: a scalar one (16 u32 locals) and, in the SIMD build, a 4-block one
// that keeps state word i of four consecutive blocks in the four lanes of one v128, so each
// quarter-round step is a single vector op for all four blocks.

/** "expand 32-byte k" as four little-endian words (RFC 8439 §2.3). */
export const SIGMA0: u32 = 0x61707865;
export const SIGMA1: u32 = 0x3320646e;
export const SIGMA2: u32 = 0x79622d32;
export const SIGMA3: u32 = 0x6b206574;

/** Bytes in one ChaCha20 block. */
export const CHACHA_BLOCK: u32 = 64;
/** Bytes the 4-block SIMD kernel handles per pass. */
export const CHACHA_CHUNK: u32 = 256;

/**
 * Runs the 20 ChaCha rounds on the state (constants, key, w12, n[0..12]). With `hchacha` it
 * writes HChaCha20's 32-byte output (words 0-3 and 12-15, no feed-forward) to `p`; otherwise it
 * XORs the 64-byte keystream block into `p` in place.
 */
function chachaScalarCore(key: usize, w12: u32, n: usize, p: usize, hchacha: bool): void {
  const k0 = load<u32>(key, 0);
  const k1 = load<u32>(key, 4);
  const k2 = load<u32>(key, 8);
  const k3 = load<u32>(key, 12);
  const k4 = load<u32>(key, 16);
  const k5 = load<u32>(key, 20);
  const k6 = load<u32>(key, 24);
  const k7 = load<u32>(key, 28);
  const n0 = load<u32>(n, 0);
  const n1 = load<u32>(n, 4);
  const n2 = load<u32>(n, 8);
  let x0 = SIGMA0, x1 = SIGMA1, x2 = SIGMA2, x3 = SIGMA3;
  let x4 = k0, x5 = k1, x6 = k2, x7 = k3;
  let x8 = k4, x9 = k5, x10 = k6, x11 = k7;
  let x12 = w12, x13 = n0, x14 = n1, x15 = n2;
  for (let i = 0; i < 10; i++) {
    // Column round.
    x0 += x4;
    x12 = rotl<u32>(x12 ^ x0, 16);
    x8 += x12;
    x4 = rotl<u32>(x4 ^ x8, 12);
    x0 += x4;
    x12 = rotl<u32>(x12 ^ x0, 8);
    x8 += x12;
    x4 = rotl<u32>(x4 ^ x8, 7);
    x1 += x5;
    x13 = rotl<u32>(x13 ^ x1, 16);
    x9 += x13;
    x5 = rotl<u32>(x5 ^ x9, 12);
    x1 += x5;
    x13 = rotl<u32>(x13 ^ x1, 8);
    x9 += x13;
    x5 = rotl<u32>(x5 ^ x9, 7);
    x2 += x6;
    x14 = rotl<u32>(x14 ^ x2, 16);
    x10 += x14;
    x6 = rotl<u32>(x6 ^ x10, 12);
    x2 += x6;
    x14 = rotl<u32>(x14 ^ x2, 8);
    x10 += x14;
    x6 = rotl<u32>(x6 ^ x10, 7);
    x3 += x7;
    x15 = rotl<u32>(x15 ^ x3, 16);
    x11 += x15;
    x7 = rotl<u32>(x7 ^ x11, 12);
    x3 += x7;
    x15 = rotl<u32>(x15 ^ x3, 8);
    x11 += x15;
    x7 = rotl<u32>(x7 ^ x11, 7);
    // Diagonal round.
    x0 += x5;
    x15 = rotl<u32>(x15 ^ x0, 16);
    x10 += x15;
    x5 = rotl<u32>(x5 ^ x10, 12);
    x0 += x5;
    x15 = rotl<u32>(x15 ^ x0, 8);
    x10 += x15;
    x5 = rotl<u32>(x5 ^ x10, 7);
    x1 += x6;
    x12 = rotl<u32>(x12 ^ x1, 16);
    x11 += x12;
    x6 = rotl<u32>(x6 ^ x11, 12);
    x1 += x6;
    x12 = rotl<u32>(x12 ^ x1, 8);
    x11 += x12;
    x6 = rotl<u32>(x6 ^ x11, 7);
    x2 += x7;
    x13 = rotl<u32>(x13 ^ x2, 16);
    x8 += x13;
    x7 = rotl<u32>(x7 ^ x8, 12);
    x2 += x7;
    x13 = rotl<u32>(x13 ^ x2, 8);
    x8 += x13;
    x7 = rotl<u32>(x7 ^ x8, 7);
    x3 += x4;
    x14 = rotl<u32>(x14 ^ x3, 16);
    x9 += x14;
    x4 = rotl<u32>(x4 ^ x9, 12);
    x3 += x4;
    x14 = rotl<u32>(x14 ^ x3, 8);
    x9 += x14;
    x4 = rotl<u32>(x4 ^ x9, 7);
  }
  if (hchacha) {
    store<u32>(p, x0, 0);
    store<u32>(p, x1, 4);
    store<u32>(p, x2, 8);
    store<u32>(p, x3, 12);
    store<u32>(p, x12, 16);
    store<u32>(p, x13, 20);
    store<u32>(p, x14, 24);
    store<u32>(p, x15, 28);
    return;
  }
  store<u32>(p, load<u32>(p, 0) ^ (x0 + SIGMA0), 0);
  store<u32>(p, load<u32>(p, 4) ^ (x1 + SIGMA1), 4);
  store<u32>(p, load<u32>(p, 8) ^ (x2 + SIGMA2), 8);
  store<u32>(p, load<u32>(p, 12) ^ (x3 + SIGMA3), 12);
  store<u32>(p, load<u32>(p, 16) ^ (x4 + k0), 16);
  store<u32>(p, load<u32>(p, 20) ^ (x5 + k1), 20);
  store<u32>(p, load<u32>(p, 24) ^ (x6 + k2), 24);
  store<u32>(p, load<u32>(p, 28) ^ (x7 + k3), 28);
  store<u32>(p, load<u32>(p, 32) ^ (x8 + k4), 32);
  store<u32>(p, load<u32>(p, 36) ^ (x9 + k5), 36);
  store<u32>(p, load<u32>(p, 40) ^ (x10 + k6), 40);
  store<u32>(p, load<u32>(p, 44) ^ (x11 + k7), 44);
  store<u32>(p, load<u32>(p, 48) ^ (x12 + w12), 48);
  store<u32>(p, load<u32>(p, 52) ^ (x13 + n0), 52);
  store<u32>(p, load<u32>(p, 56) ^ (x14 + n1), 56);
  store<u32>(p, load<u32>(p, 60) ^ (x15 + n2), 60);
}

/** XORs one keystream block (key, 96-bit nonce, block counter) into the 64 bytes at `p`. */
export function chachaBlockXor(key: usize, nonce: usize, counter: u32, p: usize): void {
  chachaScalarCore(key, counter, nonce, p, false);
}

/** HChaCha20: derives a 32-byte subkey at `out` from `key` and the 16-byte `nonce16`. */
export function hchacha20Core(key: usize, nonce16: usize, out: usize): void {
  chachaScalarCore(key, load<u32>(nonce16), nonce16 + 4, out, true);
}

export function rotl16(x: v128): v128 {
  return i8x16.shuffle(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}

// Two shifts and an OR rather than a byte shuffle: V8 rebuilds the shuffle's 16-byte mask from
// immediates at every use (measured: the shifts make seal-1420 about 4% faster). rotl16 keeps
// its shuffle, which V8 emits as pshuflw + pshufhw without a mask.
export function rotl8(x: v128): v128 {
  return v128.or(i32x4.shl(x, 8), i32x4.shr_u(x, 24));
}

export function rotl12(x: v128): v128 {
  return v128.or(i32x4.shl(x, 12), i32x4.shr_u(x, 20));
}

export function rotl7(x: v128): v128 {
  return v128.or(i32x4.shl(x, 7), i32x4.shr_u(x, 25));
}

/**
 * Transposes four state-word vectors (lane j = block j) into per-block rows and XORs them into
 * (or, with `overwrite`, stores them over) the four 64-byte blocks at `p`, at byte offset `off`
 * within each block.
 */
export function xorRows(
  a: v128,
  b: v128,
  c: v128,
  d: v128,
  p: usize,
  off: usize,
  overwrite: bool,
): void {
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(c, d, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(a, b, 2, 6, 3, 7);
  const t3 = i32x4.shuffle(c, d, 2, 6, 3, 7);
  const q = p + off;
  const o0 = i64x2.shuffle(t0, t1, 0, 2);
  const o1 = i64x2.shuffle(t0, t1, 1, 3);
  const o2 = i64x2.shuffle(t2, t3, 0, 2);
  const o3 = i64x2.shuffle(t2, t3, 1, 3);
  if (overwrite) {
    v128.store(q, o0, 0);
    v128.store(q, o1, 64);
    v128.store(q, o2, 128);
    v128.store(q, o3, 192);
  } else {
    v128.store(q, v128.xor(v128.load(q, 0), o0), 0);
    v128.store(q, v128.xor(v128.load(q, 64), o1), 64);
    v128.store(q, v128.xor(v128.load(q, 128), o2), 128);
    v128.store(q, v128.xor(v128.load(q, 192), o3), 192);
  }
}

/**
 * SIMD build only: XORs `chunks` × 256 bytes of keystream into `p` in place (or, with
 * `overwrite`, stores it there), four blocks per pass starting at block `counter`.
 */
export function chachaXor4(
  key: usize,
  nonce: usize,
  counter: u32,
  p: usize,
  chunks: u32,
  overwrite: bool,
): void {
  const lanes = i32x4(0, 1, 2, 3);
  for (let c: u32 = 0; c < chunks; c++) {
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
    for (let i = 0; i < 10; i++) {
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
    }
    const q = p + (<usize> c << 8);
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
}

/**
 * XORs the ChaCha20 keystream starting at block `counter` into `len` bytes at `p`. Whole
 * 256-byte chunks go through the 4-block kernel in place; a short tail is produced into
 * `tmp` (256 B of scratch) and XORed bytewise, so nothing past `p + len` is touched.
 */
export function chachaXorStream(
  key: usize,
  nonce: usize,
  counter: u32,
  p: usize,
  len: u32,
  tmp: usize,
): void {
  if (ASC_FEATURE_SIMD) {
    const chunks = len >> 8;
    if (chunks > 0) chachaXor4(key, nonce, counter, p, chunks, false);
    const done = chunks << 8;
    const rest = len - done;
    if (rest > 0) {
      chachaXor4(key, nonce, counter + (chunks << 2), tmp, 1, true);
      xorInto(p + done, tmp, rest);
    }
  } else {
    const blocks = len >> 6;
    for (let b: u32 = 0; b < blocks; b++) {
      chachaScalarCore(key, counter + b, nonce, p + (<usize> b << 6), false);
    }
    const done = blocks << 6;
    const rest = len - done;
    if (rest > 0) {
      memory.fill(tmp, 0, CHACHA_BLOCK);
      chachaScalarCore(key, counter + blocks, nonce, tmp, false);
      xorInto(p + done, tmp, rest);
    }
  }
}

/** dst[i] ^= src[i] for `len` bytes, widest loads first. */
export function xorInto(dst: usize, src: usize, len: u32): void {
  let i: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= len; i += 16) {
      v128.store(dst + i, v128.xor(v128.load(dst + i), v128.load(src + i)));
    }
  }
  for (; i + 8 <= len; i += 8) {
    store<u64>(dst + i, load<u64>(dst + i) ^ load<u64>(src + i));
  }
  for (; i < len; i++) {
    store<u8>(dst + i, load<u8>(dst + i) ^ load<u8>(src + i));
  }
}

/** Applies QUARTERROUND(a, b, c, d) (RFC 8439 §2.2) to the 16-word state at `st`. */
export function quarterRoundAt(st: usize, a: u32, b: u32, c: u32, d: u32): void {
  const pa = st + (<usize> a << 2);
  const pb = st + (<usize> b << 2);
  const pc = st + (<usize> c << 2);
  const pd = st + (<usize> d << 2);
  let xa = load<u32>(pa), xb = load<u32>(pb), xc = load<u32>(pc), xd = load<u32>(pd);
  xa += xb;
  xd = rotl<u32>(xd ^ xa, 16);
  xc += xd;
  xb = rotl<u32>(xb ^ xc, 12);
  xa += xb;
  xd = rotl<u32>(xd ^ xa, 8);
  xc += xd;
  xb = rotl<u32>(xb ^ xc, 7);
  store<u32>(pa, xa);
  store<u32>(pb, xb);
  store<u32>(pc, xc);
  store<u32>(pd, xd);
}
