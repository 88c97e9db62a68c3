/**
 * Crypto throughput: ChaCha20-Poly1305 seal/open at 64, 1420 and 65,536 bytes for our wasm core
 * (SIMD and scalar builds, single calls and the 32-packet batch call), libsodium-wrappers,
 * node:crypto and @noble/ciphers, then BLAKE2s/HMAC/KDF calls per second, then (if the
 * `openssl` binary may be run) `openssl speed -evp chacha20-poly1305` for the same sizes.
 * Ends with the summary lines `seal-1420: ours N MB/s, libsodium N MB/s, ratio N.NN`.
 *
 * Usage: deno task bench:crypto [--quick]
 * MB/s are 10^6 bytes of message per second (tags not counted), like `openssl speed`.
 * Each figure is the median of several timed rounds after a calibration/warm-up run. Our open
 * figures include restoring the ciphertext before each open (a native memmove of the message)
 * because open decrypts in place; that costs about 1-2 % at these sizes.
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
const ROUNDS = QUICK ? 3 : 5;
const ROUND_MS = QUICK ? 100 : 250;
const SIZES = [64, 1420, 65536] as const;
const BATCH = 32;

/** ops/s of `run(n)` (which performs n operations): median of ROUNDS timed rounds. */
function opsPerSecond(run: (n: number) => void): number {
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
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    run(n);
    rates.push(n / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

function mbps(opsPerSec: number, bytes: number): number {
  return (opsPerSec * bytes) / 1e6;
}

interface Row {
  name: string;
  /** MB/s keyed by e.g. "seal-1420". */
  figures: Map<string, number>;
}

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

const key = random(32);
const nonce = random(12);
const messages = new Map(SIZES.map((s) => [s, random(s)]));

async function oursRow(variant: CoreVariant): Promise<Row> {
  const core = await CryptoCore.create({ variant, instances: 1, arenaBytes: 4 << 20 });
  const e = core.exports;
  const k = core.keySlotAddress(0);
  core.setKey(0, key);
  const n = core.layout.arenaBase;
  const data = n + 64;
  const pristine = data + 80_000;
  core.bytes.set(nonce, n);
  const figures = new Map<string, number>();
  for (const size of SIZES) {
    core.bytes.set(messages.get(size)!, data);
    figures.set(
      `seal-${size}`,
      mbps(
        opsPerSecond((c) => {
          for (let i = 0; i < c; i++) e.aeadSeal(k, n, 0, 0, data, size);
        }),
        size,
      ),
    );
    core.bytes.set(messages.get(size)!, data);
    e.aeadSeal(k, n, 0, 0, data, size);
    core.bytes.copyWithin(pristine, data, data + size + 16);
    let failures = 0;
    figures.set(
      `open-${size}`,
      mbps(
        opsPerSecond((c) => {
          for (let i = 0; i < c; i++) {
            core.bytes.copyWithin(data, pristine, pristine + size + 16);
            failures += 1 - e.aeadOpen(k, n, 0, 0, data, size);
          }
        }),
        size,
      ),
    );
    if (failures) throw new Error(`ours ${variant}: ${failures} opens failed`);
  }
  return { name: `ours wasm ${variant}`, figures };
}

async function oursBatchRow(): Promise<Row> {
  const core = await CryptoCore.create({ variant: "simd", instances: 1, arenaBytes: 4 << 20 });
  core.setKey(0, key);
  const figures = new Map<string, number>();
  for (const size of [64, 1420] as const) {
    const stride = Math.ceil((size + 16) / 64) * 64;
    const base = core.layout.arenaBase;
    const table = new DescriptorTable(core, base + BATCH * stride, BATCH);
    const pristine = base + BATCH * stride + BATCH * 32;
    for (let p = 0; p < BATCH; p++) {
      core.bytes.set(messages.get(size)!, base + p * stride);
      table.push({ counter: BigInt(p), keySlot: 0, offset: base + p * stride, length: size });
    }
    figures.set(
      `seal-${size}`,
      mbps(
        BATCH * opsPerSecond((c) => {
          for (let i = 0; i < c; i++) table.seal();
        }),
        size,
      ),
    );
    table.seal();
    core.bytes.copyWithin(pristine, base, base + BATCH * stride);
    let opened = 0;
    figures.set(
      `open-${size}`,
      mbps(
        BATCH * opsPerSecond((c) => {
          for (let i = 0; i < c; i++) {
            core.bytes.copyWithin(base, pristine, pristine + BATCH * stride);
            opened += table.open(false);
          }
        }),
        size,
      ),
    );
    if (opened % BATCH !== 0 || opened === 0) throw new Error("batch opens failed");
  }
  return { name: `ours simd batch x${BATCH}`, figures };
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

async function sodiumRow(): Promise<Row> {
  const sodium = createRequire(import.meta.url)("libsodium-wrappers") as SodiumAead;
  await sodium.ready;
  const figures = new Map<string, number>();
  for (const size of SIZES) {
    const m = messages.get(size)!;
    figures.set(
      `seal-${size}`,
      mbps(
        opsPerSecond((c) => {
          for (let i = 0; i < c; i++) {
            sodium.crypto_aead_chacha20poly1305_ietf_encrypt(m, null, null, nonce, key);
          }
        }),
        size,
      ),
    );
    const ct = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(m, null, null, nonce, key);
    figures.set(
      `open-${size}`,
      mbps(
        opsPerSecond((c) => {
          for (let i = 0; i < c; i++) {
            sodium.crypto_aead_chacha20poly1305_ietf_decrypt(null, ct, null, nonce, key);
          }
        }),
        size,
      ),
    );
  }
  return { name: "libsodium-wrappers", figures };
}

function nodeRow(): Row {
  const figures = new Map<string, number>();
  for (const size of SIZES) {
    const m = messages.get(size)!;
    const seal = () => {
      const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
      const out = c.update(m);
      c.final();
      return [out, c.getAuthTag()] as const;
    };
    figures.set(
      `seal-${size}`,
      mbps(
        opsPerSecond((c) => {
          for (let i = 0; i < c; i++) seal();
        }),
        size,
      ),
    );
    const [ct, tag] = seal();
    figures.set(
      `open-${size}`,
      mbps(
        opsPerSecond((c) => {
          for (let i = 0; i < c; i++) {
            const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
            d.setAuthTag(tag);
            d.update(ct);
            d.final();
          }
        }),
        size,
      ),
    );
  }
  return { name: "node:crypto", figures };
}

function nobleRow(): Row {
  const figures = new Map<string, number>();
  for (const size of SIZES) {
    const m = messages.get(size)!;
    figures.set(
      `seal-${size}`,
      mbps(
        opsPerSecond((c) => {
          for (let i = 0; i < c; i++) nobleChaCha(key, nonce).encrypt(m);
        }),
        size,
      ),
    );
    const ct = nobleChaCha(key, nonce).encrypt(m);
    figures.set(
      `open-${size}`,
      mbps(
        opsPerSecond((c) => {
          for (let i = 0; i < c; i++) nobleChaCha(key, nonce).decrypt(ct);
        }),
        size,
      ),
    );
  }
  return { name: "@noble/ciphers", figures };
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

const rows: Row[] = [];
console.log(`crypto throughput (MB/s = 10^6 message bytes/s; median of ${ROUNDS} rounds)`);
rows.push(await oursRow("simd"));
rows.push(await oursBatchRow());
rows.push(await oursRow("scalar"));
rows.push(await sodiumRow());
rows.push(nodeRow());
rows.push(nobleRow());

const columns = SIZES.flatMap((s) => [`seal-${s}`, `open-${s}`]);
console.log(["implementation".padEnd(24), ...columns.map((c) => c.padStart(11))].join(""));
for (const row of rows) {
  console.log(
    [row.name.padEnd(24), ...columns.map((c) => fmt(row.figures.get(c)).padStart(11))].join(""),
  );
}

console.log("\nhandshake hashing (calls/s)");
for (const [name, rate] of await hashRows()) {
  console.log(`${name.padEnd(50)}${Math.round(rate).toLocaleString("en-US").padStart(14)}`);
}

console.log("\nnative reference: openssl speed -evp chacha20-poly1305");
const ours = rows[0].figures;
let opensslRan = false;
for (const [size, decrypt] of [[64, false], [1420, false], [1420, true], [65536, false]] as const) {
  const native = await openssl(size, decrypt);
  if (native === null) continue;
  opensslRan = true;
  const fig = `${decrypt ? "open" : "seal"}-${size}`;
  const mine = ours.get(fig)!;
  console.log(
    `${fig}: openssl ${native.toFixed(0)} MB/s, ours ${mine.toFixed(0)} MB/s = ${
      ((100 * mine) / native).toFixed(0)
    }% of native`,
  );
}
if (!opensslRan) console.log("(not measured: openssl missing or --allow-run=openssl not granted)");

console.log("");
const sodium = rows.find((r) => r.name === "libsodium-wrappers")!.figures;
for (const fig of ["seal-1420", "open-1420", "seal-65536"]) {
  const a = ours.get(fig)!;
  const b = sodium.get(fig)!;
  console.log(
    `${fig}: ours ${a.toFixed(0)} MB/s, libsodium ${b.toFixed(0)} MB/s, ratio ${
      (a / b).toFixed(2)
    }`,
  );
}
