/**
 * How the data path scales over threads: 1..N workers seal 1,420-byte packets in place on one
 * shared memory and one set of shared tables, (a) all to one peer (one keypair, so every packet
 * takes its counter from the same compare-and-swap cell) and (b) each to its own peer. No I/O:
 * this isolates what the threads share. Prints packets/s and the speed-up over one worker.
 * Run: deno task bench:scaling [seconds per point, default 3]
 */

import { CryptoCore } from "../lib/crypto/crypto_core.ts";
import { loadCoreModule } from "../lib/crypto/core_module.ts";
import { createCoreMemory, planMemoryLayout } from "../lib/crypto/memory_layout.ts";
import { dataPlaneScratchBytes } from "../lib/wireguard/data_plane.ts";
import { DataPlaneState } from "../lib/wireguard/data_plane_state.ts";
import type { ScalingJob } from "./data_plane_scaling_worker.ts";

const seconds = Number(Deno.args[0] ?? 3);
const maxWorkers = Math.max(2, navigator.hardwareConcurrency || 2);
const perWorker = 64 + dataPlaneScratchBytes(1420) + 2048;
const layout = planMemoryLayout({
  instances: maxWorkers + 1,
  keySlots: 64,
  arenaBytes: maxWorkers * perWorker,
});
const module = await loadCoreModule();
const memory = createCoreMemory(layout);
const core = CryptoCore.instantiate(module, memory, layout, 0);
const dimensions = { peers: maxWorkers, keypairs: 32, writers: maxWorkers + 1 };
const state = DataPlaneState.create(dimensions);
const key = crypto.getRandomValues(new Uint8Array(32));
for (let peer = 0; peer < maxWorkers; peer++) {
  core.setKey(2 * peer, key);
  core.setKey(2 * peer + 1, key);
  state.publishKeypair(peer, {
    localIndex: peer,
    remoteIndex: 1000 + peer,
    peer,
    isInitiator: false,
    createdAt: 0,
  });
  state.setSendingKeypairs(peer, peer, -1);
  const endpoint = new Uint8Array(16);
  endpoint.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 2]);
  state.setEndpoint(peer, endpoint, 51820);
}

async function measure(workers: number, ownPeer: boolean): Promise<number> {
  const control = new SharedArrayBuffer(8);
  const flags = new Int32Array(control);
  const threads = Array.from(
    { length: workers },
    () =>
      new Worker(new URL("./data_plane_scaling_worker.ts", import.meta.url), { type: "module" }),
  );
  try {
    const readies: Promise<void>[] = [];
    const results: Promise<number>[] = [];
    for (const thread of threads) {
      let ready!: () => void;
      let done!: (count: number) => void;
      readies.push(new Promise((resolve) => ready = resolve));
      results.push(new Promise((resolve) => done = resolve));
      thread.onmessage = (event) => event.data === "ready" ? ready() : done(event.data);
    }
    threads.forEach((thread, i) => {
      const job: ScalingJob = {
        module,
        memory,
        layout,
        stateBuffer: state.buffer,
        dimensions,
        control,
        worker: i + 1,
        peer: ownPeer ? i : 0,
        arenaAt: layout.arenaBase + i * perWorker,
      };
      thread.postMessage(job);
    });
    await Promise.all(readies);
    Atomics.store(flags, 0, 1);
    Atomics.notify(flags, 0);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    Atomics.store(flags, 1, 1);
    const counts = await Promise.all(results);
    return counts.reduce((sum, count) => sum + count, 0) / seconds;
  } finally {
    for (const thread of threads) thread.terminate();
  }
}

for (const ownPeer of [false, true]) {
  const base = await measure(1, ownPeer);
  console.log(`${ownPeer ? "own peer" : "one peer"}, 1 worker: ${Math.round(base)} packets/s`);
  for (let workers = 2; workers <= maxWorkers; workers++) {
    const rate = await measure(workers, ownPeer);
    console.log(
      `${ownPeer ? "own peer" : "one peer"}, ${workers} workers: ${Math.round(rate)} packets/s, ${
        (rate / base).toFixed(2)
      }× one worker`,
    );
  }
}
