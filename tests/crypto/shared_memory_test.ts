/**
 * Two workers, one shared memory, one compiled module: each instance uses its own scratch area,
 * so both can seal and open at the same time and get correct, independent results.
 */

import assert from "node:assert/strict";
import { loadCoreModule } from "../../lib/crypto/core_module.ts";
import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import { createCoreMemory, planMemoryLayout } from "../../lib/crypto/memory_layout.ts";
import { assertBytes, loadSodium, SeededRandom, seedFor, VARIANTS } from "./helpers.ts";
import { patternByte, type WorkerJob, type WorkerReport } from "./shared_memory_worker.ts";

const PACKETS = 32;
const STRIDE = 1536;
const LENGTH = 1420;
const ROUNDS = 400;
const TIMEOUT_MS = 30_000;

function wgNonce(counter: bigint): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, counter, true);
  return n;
}

for (const variant of VARIANTS) {
  Deno.test(`[${variant}] two workers on one shared memory produce independent correct results`, async () => {
    const layout = planMemoryLayout({ instances: 3, keySlots: 4, arenaBytes: 1 << 20 });
    const memory = createCoreMemory(layout);
    const module = await loadCoreModule(variant);
    const main = CryptoCore.instantiate(module, memory, layout, 0);
    const rng = new SeededRandom(seedFor(`workers-${variant}`));
    const keys = [rng.bytes(32), rng.bytes(32)];
    keys.forEach((k, i) => main.setKey(i + 1, k));
    const control = new SharedArrayBuffer(4);
    const half = layout.arenaBytes / 2;

    const workers: Worker[] = [];
    const timers: ReturnType<typeof setTimeout>[] = [];
    try {
      const reports = [1, 2].map((instance) => {
        const worker = new Worker(new URL("./shared_memory_worker.ts", import.meta.url), {
          type: "module",
        });
        workers.push(worker);
        const job: WorkerJob = {
          module,
          memory,
          layout,
          instance,
          control,
          keySlot: instance,
          region: layout.arenaBase + (instance - 1) * half,
          packets: PACKETS,
          stride: STRIDE,
          length: LENGTH,
          rounds: ROUNDS,
        };
        const ready = new Promise<void>((resolve) => {
          worker.addEventListener("message", (e) => e.data === "ready" && resolve(), {
            once: true,
          });
        });
        const done = new Promise<WorkerReport>((resolve, reject) => {
          worker.addEventListener("message", (e) => e.data !== "ready" && resolve(e.data));
          worker.addEventListener("error", (e) => {
            e.preventDefault();
            reject(new Error(`worker ${instance}: ${e.message}`));
          });
          timers.push(
            setTimeout(() => reject(new Error(`worker ${instance} timed out`)), TIMEOUT_MS),
          );
        });
        worker.postMessage(job);
        return { ready, done };
      });
      await Promise.all(reports.map((r) => r.ready));
      // Release both at once so their work overlaps.
      Atomics.store(new Int32Array(control), 0, 1);
      Atomics.notify(new Int32Array(control), 0);
      const results = await Promise.all(reports.map((r) => r.done));

      for (const report of results) {
        assert.equal(report.mismatches, 0, `worker ${report.instance} round-trip mismatches`);
        assert.equal(report.sealed, ROUNDS * PACKETS);
        assert.equal(report.opened, (ROUNDS - 1) * PACKETS);
      }
      // The last round's ciphertexts, still in shared memory, verify against libsodium.
      const sodium = await loadSodium();
      for (const instance of [1, 2]) {
        const region = layout.arenaBase + (instance - 1) * half;
        const r = ROUNDS - 1;
        for (let p = 0; p < PACKETS; p++) {
          const plain = Uint8Array.from(
            { length: LENGTH },
            (_, i) => patternByte(instance, r, p, i),
          );
          const expected = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
            plain,
            null,
            null,
            wgNonce(BigInt(r * PACKETS + p)),
            keys[instance - 1],
          );
          const at = region + p * STRIDE;
          assertBytes(
            main.bytes.slice(at, at + LENGTH + 16),
            expected,
            `worker ${instance} pkt ${p}`,
          );
        }
      }
    } finally {
      timers.forEach(clearTimeout);
      workers.forEach((w) => w.terminate());
    }
  });
}
