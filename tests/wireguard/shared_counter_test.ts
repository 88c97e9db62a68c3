import { assertEquals, assertTrue } from "../assert.ts";
import { DataPlaneState } from "../../lib/wireguard/data_plane_state.ts";

Deno.test("data-plane state: four threads racing for one keypair's counters never get the same one", async () => {
  const dimensions = { peers: 1, keypairs: 2, writers: 1 };
  const state = DataPlaneState.create(dimensions);
  state.publishKeypair(0, {
    localIndex: 2,
    remoteIndex: 1,
    peer: 0,
    isInitiator: true,
    createdAt: 0,
  });
  const limit = 400_000;
  const workers = Array.from(
    { length: 4 },
    () => new Worker(new URL("./shared_counter_worker.ts", import.meta.url), { type: "module" }),
  );
  try {
    const results = await Promise.all(
      workers.map((worker) =>
        new Promise<number[]>((resolve, reject) => {
          worker.onmessage = (event) => resolve(event.data);
          worker.onerror = (event) => reject(new Error(event.message));
          worker.postMessage({ buffer: state.buffer, dimensions, limit });
        })
      ),
    );
    const seen = new Uint8Array(limit);
    for (const taken of results) for (const counter of taken) seen[counter]++;
    // Every counter below the limit was handed out exactly once: no nonce twice, none lost.
    assertTrue(seen.every((count) => count === 1));
    assertEquals(results.reduce((sum, taken) => sum + taken.length, 0), limit);
    assertEquals(state.sendCounter(0), limit);
  } finally {
    for (const worker of workers) worker.terminate();
  }
});
