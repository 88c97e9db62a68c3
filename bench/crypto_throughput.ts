/**
 * Crypto throughput: ChaCha20-Poly1305 seal/open at 64, 1420 and 65,536 bytes for our wasm core
 * (SIMD and scalar builds, single calls and the 32-packet batch call), libsodium-wrappers,
 * node:crypto and @noble/ciphers, then BLAKE2s/HMAC/KDF calls per second, then (if the
 * `openssl` binary may be run) `openssl speed -evp chacha20-poly1305` for the same sizes.
 * Ends with the summary lines `seal-1420: ours N MB/s, libsodium N MB/s, ratio N.NN`.
 *
 * Usage: deno task bench:crypto [--quick]
 * MB/s are 10^6 bytes of message per second (tags not counted), like `openssl speed`.
 * Each figure is the median of all timed rounds of several passes over every implementation
 * (after a calibration/warm-up run per pass). Our opens decrypt in place, so an open round
 * works through distinct sealed copies (about 512 KiB of them) that are restored, untimed,
 * between rounds; the batch open round is one 32-packet batch call.
 */

import { blake2s as nobleBlake2s } from "@noble/hashes/blake2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { chacha20poly1305 as nobleChaCha } from "@noble/ciphers/chacha.js";
import { createCipheriv, createDecipheriv } from "node:crypto";
import { createRequire } from "node:module";
import { DescriptorTable } from "../lib/crypto/batch.ts";
import type { CoreVariant } from "../lib/crypto/core_module.ts";
import { CryptoCore } from "../lib/crypto/crypto_core.ts";
import { blake2s as ourBlake2s } from "../lib/crypto/blake2s.ts";

const QUICK = Deno.args.includes("--quick");
const PASSES = QUICK ? 2 : 3;
const ROUNDS = 3;
const ROUND_MS = QUICK ? 80 : 150;
const FIXED_ROUNDS = QUICK ? 10 : 20;
const WARMUP_MS = QUICK ? 40 : 100;
/** Bytes of distinct sealed copies an open round works through (fits in L2). */
const OPEN_WORKING_SET = 512 * 1024;
const SIZES = [64, 1420, 65536] as const;
const BATCH = 32;

/**
 * ops/s of `run(n)` (which performs n operations) for each of ROUNDS timed rounds. With
 * `fixed`, every round runs exactly `fixed.n` operations after an untimed `fixed.prepare()`
 * (used by in-place opens, which need their ciphertexts restored between rounds).
 */
function roundRates(
  run: (n: number) => void,
  fixed?: { n: number; prepare: () => void },
): number[] {
  const rates: number[] = [];
  if (fixed) {
    fixed.prepare();
    run(fixed.n); // warm-up
    for (let r = 0; r < FIXED_ROUNDS; r++) {
      fixed.prepare();
      const t0 = performance.now();
      run(fixed.n);
      rates.push(fixed.n / ((performance.now() - t0) / 1000));
    }
    return rates;
  }
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    run(n);
    const ms = performance.now() - t0;
    if (ms > 30) {
      n = Math.max(1, Math.round((n * ROUND_MS) / ms));
      break;
    }
    n *= 2;
  }
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    run(n);
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  return rates;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** ops/s of `run(n)`: median of ROUNDS timed rounds. */
function opsPerSecond(run: (n: number) => void): number {
  return median(roundRates(run));
}

/** One figure to measure: `run(n)` performs n operations on `bytes` message bytes each. */
interface Task {
  row: string;
  figure: string;
  bytes: number;
  run: (n: number) => void;
  fixed?: { n: number; prepare: () => void };
}

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

const key = random(32);
const nonce = random(12);
const messages = new Map(SIZES.map((s) => [s, random(s)]));

async function oursTasks(variant: CoreVariant): Promise<Task[]> {
  const row = `ours wasm ${variant}`;
  const core = await CryptoCore.create({ variant, instances: 1, arenaBytes: 8 << 20 });
  const e = core.exports;
  const k = core.keySlotAddress(0);
  core.setKey(0, key);
  const n = core.layout.arenaBase;
  core.bytes.set(nonce, n);
  const openArena = n + 1_000_000;
  const tasks: Task[] = [];
  SIZES.forEach((size, s) => {
    // Each size has its own buffers so tasks can run in any order.
    const sealBuf = n + 64 + s * 300_000;
    core.bytes.set(messages.get(size)!, sealBuf);
    tasks.push({
      row,
      figure: `seal-${size}`,
      bytes: size,
      run: (c) => {
        for (let i = 0; i < c; i++) e.aeadSeal(k, n, 0, 0, sealBuf, size);
      },
    });
    // Opens decrypt in place, so each round opens `copies` distinct sealed copies and the
    // copies are restored (untimed) before the next round.
    const stride = Math.ceil((size + 16) / 64) * 64;
    const copies = Math.max(4, Math.floor(OPEN_WORKING_SET / stride));
    const work = openArena + s * 2 * OPEN_WORKING_SET;
    const pristine = work + OPEN_WORKING_SET;
    core.bytes.set(messages.get(size)!, pristine);
    e.aeadSeal(k, n, 0, 0, pristine, size);
    for (let i = 1; i < copies; i++) {
      core.bytes.copyWithin(pristine + i * stride, pristine, pristine + size + 16);
    }
    tasks.push({
      row,
      figure: `open-${size}`,
      bytes: size,
      run: (c) => {
        let failures = 0;
        for (let i = 0; i < c; i++) failures += 1 - e.aeadOpen(k, n, 0, 0, work + i * stride, size);
        if (failures) throw new Error(`ours ${variant}: ${failures} opens failed`);
      },
      fixed: {
        n: copies,
        prepare: () => core.bytes.copyWithin(work, pristine, pristine + copies * stride),
      },
    });
  });
  return tasks;
}

async function oursBatchTasks(): Promise<Task[]> {
  const row = `ours simd batch x${BATCH}`;
  const core = await CryptoCore.create({ variant: "simd", instances: 1, arenaBytes: 4 << 20 });
  core.setKey(0, key);
  const tasks: Task[] = [];
  ([64, 1420] as const).forEach((size, s) => {
    const stride = Math.ceil((size + 16) / 64) * 64;
    const sealBase = core.layout.arenaBase + s * 400_000;
    const openBase = sealBase + 200_000;
    const seal = new DescriptorTable(core, sealBase + BATCH * stride, BATCH);
    const open = new DescriptorTable(core, openBase + BATCH * stride, BATCH);
    const pristine = openBase + BATCH * stride + BATCH * 32;
    for (let p = 0; p < BATCH; p++) {
      core.bytes.set(messages.get(size)!, sealBase + p * stride);
      core.bytes.set(messages.get(size)!, openBase + p * stride);
      const entry = { counter: BigInt(p), keySlot: 0, length: size };
      seal.push({ ...entry, offset: sealBase + p * stride });
      open.push({ ...entry, offset: openBase + p * stride });
    }
    open.seal();
    core.bytes.copyWithin(pristine, openBase, openBase + BATCH * stride);
    tasks.push({
      row,
      figure: `seal-${size}`,
      bytes: size * BATCH,
      run: (c) => {
        for (let i = 0; i < c; i++) seal.seal();
      },
    });
    tasks.push({
      row,
      figure: `open-${size}`,
      bytes: size * BATCH,
      run: (c) => {
        let opened = 0;
        for (let i = 0; i < c; i++) opened += open.open(false);
        if (opened !== c * BATCH) throw new Error("batch opens failed");
      },
      fixed: {
        n: 1,
        prepare: () => core.bytes.copyWithin(openBase, pristine, pristine + BATCH * stride),
      },
    });
  });
  return tasks;
}

interface SodiumAead {
  ready: Promise<void>;
  crypto_aead_chacha20poly1305_ietf_encrypt(
    m: Uint8Array,
    ad: null,
    nsec: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): Uint8Array;
  crypto_aead_chacha20poly1305_ietf_decrypt(
    nsec: null,
    c: Uint8Array,
    ad: null,
    npub: Uint8Array,
    k: Uint8Array,
  ): Uint8Array;
}

async function sodiumTasks(): Promise<Task[]> {
  const row = "libsodium-wrappers";
  const sodium = createRequire(import.meta.url)("libsodium-wrappers") as SodiumAead;
  await sodium.ready;
  return SIZES.flatMap((size) => {
    const m = messages.get(size)!;
    const ct = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(m, null, null, nonce, key);
    return [
      {
        row,
        figure: `seal-${size}`,
        bytes: size,
        run: (c: number) => {
          for (let i = 0; i < c; i++) {
            sodium.crypto_aead_chacha20poly1305_ietf_encrypt(m, null, null, nonce, key);
          }
        },
      },
      {
        row,
        figure: `open-${size}`,
        bytes: size,
        run: (c: number) => {
          for (let i = 0; i < c; i++) {
            sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, ct, null, nonce, key);
          }
        },
      },
    ];
  });
}

function nodeTasks(): Task[] {
  const row = "node:crypto";
  return SIZES.flatMap((size) => {
    const m = messages.get(size)!;
    const seal = () => {
      const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
      const out = c.update(m);
      c.final();
      return [out, c.getAuthTag()] as const;
    };
    const [ct, tag] = seal();
    return [
      {
        row,
        figure: `seal-${size}`,
        bytes: size,
        run: (c: number) => {
          for (let i = 0; i < c; i++) seal();
        },
      },
      {
        row,
        figure: `open-${size}`,
        bytes: size,
        run: (c: number) => {
          for (let i = 0; i < c; i++) {
            const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
            d.setAuthTag(tag);
            d.update(ct);
            d.final();
          }
        },
      },
    ];
  });
}

function nobleTasks(): Task[] {
  const row = "@noble/ciphers";
  return SIZES.flatMap((size) => {
    const m = messages.get(size)!;
    const ct = nobleChaCha(key, nonce).encrypt(m);
    return [
      {
        row,
        figure: `seal-${size}`,
        bytes: size,
        run: (c: number) => {
          for (let i = 0; i < c; i++) nobleChaCha(key, nonce).encrypt(m);
        },
      },
      {
        row,
        figure: `open-${size}`,
        bytes: size,
        run: (c: number) => {
          for (let i = 0; i < c; i++) nobleChaCha(key, nonce).decrypt(ct);
        },
      },
    ];
  });
}

async function hashRows(): Promise<[string, number][]> {
  const core = await CryptoCore.create({ variant: "simd", instances: 1 });
  const e = core.exports;
  const base = core.layout.arenaBase;
  const input = random(64);
  core.bytes.set(input, base);
  core.bytes.set(key, base + 128);
  const out = base + 256;
  return [
    [
      "BLAKE2s-256, 64 B: ours (pointer API)",
      opsPerSecond((c) => {
        for (let i = 0; i < c; i++) e.blake2s(out, 32, base, 64, 0, 0);
      }),
    ],
    [
      "BLAKE2s-256, 64 B: ours (byte-array API)",
      opsPerSecond((c) => {
        for (let i = 0; i < c; i++) ourBlake2s(core, input);
      }),
    ],
    [
      "BLAKE2s-256, 64 B: @noble/hashes",
      opsPerSecond((c) => {
        for (let i = 0; i < c; i++) nobleBlake2s(input);
      }),
    ],
    [
      "HMAC-BLAKE2s, 32 B key, 64 B: ours (pointer API)",
      opsPerSecond((c) => {
        for (let i = 0; i < c; i++) e.hmacBlake2s(out, base + 128, 32, base, 64);
      }),
    ],
    [
      "HMAC-BLAKE2s, 32 B key, 64 B: @noble/hashes",
      opsPerSecond((c) => {
        for (let i = 0; i < c; i++) hmac(nobleBlake2s, key, input);
      }),
    ],
    [
      "KDF3 (4 HMACs), 32 B input: ours (pointer API)",
      opsPerSecond((c) => {
        for (let i = 0; i < c; i++) e.kdf(out, 3, base + 128, 32, base, 32);
      }),
    ],
  ];
}

/** `openssl speed -evp chacha20-poly1305` MB/s for the given size, or null if it cannot run. */
async function openssl(size: number, decrypt: boolean): Promise<number | null> {
  const args = ["speed", ...(decrypt ? ["-decrypt"] : []), "-evp", "chacha20-poly1305"];
  args.push("-bytes", String(size), "-seconds", QUICK ? "1" : "2");
  try {
    const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "null" })
      .output();
    const text = new TextDecoder().decode(out.stdout);
    const m = text.match(/ChaCha20-Poly1305\s+([\d.]+)k/i);
    return m ? Number(m[1]) / 1000 : null;
  } catch {
    return null;
  }
}

function fmt(n: number | undefined): string {
  return n === undefined ? "-" : n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

const tasks: Task[] = [
  ...(await oursTasks("simd")),
  ...(await oursBatchTasks()),
  ...(await oursTasks("scalar")),
  ...(await sodiumTasks()),
  ...nodeTasks(),
  ...nobleTasks(),
];
console.log(
  `crypto throughput (MB/s = 10^6 message bytes/s; median of ${PASSES} passes x ${ROUNDS} rounds)`,
);
// Several passes over every implementation, pooled: background load then hits all of them
// alike instead of skewing whichever happened to run during it.
// Warm-up: let V8 tier every path up to optimized code before anything is recorded.
for (const t of tasks) {
  const until = performance.now() + WARMUP_MS;
  while (performance.now() < until) {
    if (t.fixed) t.fixed.prepare();
    t.run(t.fixed ? t.fixed.n : 64);
  }
}
const samples = new Map<string, number[]>();
for (let pass = 0; pass < PASSES; pass++) {
  for (const t of tasks) {
    const id = `${t.row}|${t.figure}`;
    const rates = roundRates(t.run, t.fixed).map((ops) => (ops * t.bytes) / 1e6);
    samples.set(id, [...(samples.get(id) ?? []), ...rates]);
  }
}
const figure = (row: string, fig: string): number | undefined => {
  const s = samples.get(`${row}|${fig}`);
  return s ? median(s) : undefined;
};
const rowNames = [...new Set(tasks.map((t) => t.row))];
const columns = SIZES.flatMap((s) => [`seal-${s}`, `open-${s}`]);
console.log(["implementation".padEnd(24), ...columns.map((c) => c.padStart(11))].join(""));
for (const row of rowNames) {
  console.log(
    [row.padEnd(24), ...columns.map((c) => fmt(figure(row, c)).padStart(11))].join(""),
  );
}

console.log("\nhandshake hashing (calls/s)");
for (const [name, rate] of await hashRows()) {
  console.log(`${name.padEnd(50)}${Math.round(rate).toLocaleString("en-US").padStart(14)}`);
}

console.log("\nnative reference: openssl speed -evp chacha20-poly1305");
const OURS = "ours wasm simd";
let opensslRan = false;
for (const [size, decrypt] of [[64, false], [1420, false], [1420, true], [65536, false]] as const) {
  const native = await openssl(size, decrypt);
  if (native === null) continue;
  opensslRan = true;
  const fig = `${decrypt ? "open" : "seal"}-${size}`;
  const mine = figure(OURS, fig)!;
  console.log(
    `${fig}: openssl ${native.toFixed(0)} MB/s, ours ${mine.toFixed(0)} MB/s = ${
      ((100 * mine) / native).toFixed(0)
    }% of native`,
  );
}
if (!opensslRan) console.log("(not measured: openssl missing or --allow-run=openssl not granted)");

console.log("");
for (const fig of ["seal-1420", "open-1420", "seal-65536"]) {
  const a = figure(OURS, fig)!;
  const b = figure("libsodium-wrappers", fig)!;
  console.log(
    `${fig}: ours ${a.toFixed(0)} MB/s, libsodium ${b.toFixed(0)} MB/s, ratio ${
      (a / b).toFixed(2)
    }`,
  );
}
