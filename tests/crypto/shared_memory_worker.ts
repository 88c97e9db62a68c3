/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/**
 * Worker for shared_memory_test.ts: instantiates the core on the shared memory as its own
 * instance, waits for the start signal, then seals and opens its own packets many times.
 */

import { DescriptorTable } from "../../lib/crypto/batch.ts";
import { CryptoCore } from "../../lib/crypto/crypto_core.ts";
import type { MemoryLayout } from "../../lib/crypto/memory_layout.ts";

/** What the test sends each worker. */
export interface WorkerJob {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  layout: MemoryLayout;
  instance: number;
  control: SharedArrayBuffer;
  keySlot: number;
  region: number;
  packets: number;
  stride: number;
  length: number;
  rounds: number;
}

/** What each worker reports back. */
export interface WorkerReport {
  instance: number;
  mismatches: number;
  sealed: number;
  opened: number;
}

/** The plaintext byte at `i` of packet `p` in round `r` for worker `w`, so main can recompute it. */
export function patternByte(w: number, r: number, p: number, i: number): number {
  return (w * 131 + r * 31 + p * 7 + i) & 0xff;
}

self.onmessage = (event: MessageEvent<WorkerJob>) => {
  const job = event.data;
  const core = CryptoCore.instantiate(job.module, job.memory, job.layout, job.instance);
  const control = new Int32Array(job.control);
  const table = new DescriptorTable(core, job.region + job.packets * job.stride, job.packets);
  self.postMessage("ready");
  // Block until the main thread releases both workers at once (bounded, never a sleep).
  Atomics.wait(control, 0, 0, 20_000);
  let mismatches = 0, sealed = 0, opened = 0;
  for (let r = 0; r < job.rounds; r++) {
    table.clear();
    for (let p = 0; p < job.packets; p++) {
      const at = job.region + p * job.stride;
      for (let i = 0; i < job.length; i++) core.bytes[at + i] = patternByte(job.instance, r, p, i);
      table.push({
        counter: BigInt(r * job.packets + p),
        keySlot: job.keySlot,
        offset: at,
        length: job.length,
      });
    }
    sealed += table.seal();
    if (r === job.rounds - 1) break; // leave the last round sealed for the main thread to check
    opened += table.open(false);
    for (let p = 0; p < job.packets; p++) {
      const at = job.region + p * job.stride;
      for (let i = 0; i < job.length; i++) {
        if (core.bytes[at + i] !== patternByte(job.instance, r, p, i)) mismatches++;
      }
    }
  }
  const report: WorkerReport = { instance: job.instance, mismatches, sealed, opened };
  self.postMessage(report);
};
