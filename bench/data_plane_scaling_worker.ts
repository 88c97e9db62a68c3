/// <reference lib="deno.worker" />
/** Worker of data_plane_scaling.ts: seals 1,420-byte packets in place until told to stop. */

import { CryptoCore } from "../lib/crypto/crypto_core.ts";
import type { MemoryLayout } from "../lib/crypto/memory_layout.ts";
import { DataPlane, dataPlaneScratchBytes } from "../lib/wireguard/data_plane.ts";
import { type DataPlaneDimensions, DataPlaneState } from "../lib/wireguard/data_plane_state.ts";

/** What the bench sends each worker. */
export interface ScalingJob {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  layout: MemoryLayout;
  stateBuffer: SharedArrayBuffer;
  dimensions: DataPlaneDimensions;
  control: SharedArrayBuffer;
  worker: number;
  peer: number;
  arenaAt: number;
}

self.onmessage = (event: MessageEvent<ScalingJob>) => {
  const job = event.data;
  const core = CryptoCore.instantiate(job.module, job.memory, job.layout, job.worker);
  const state = DataPlaneState.attach(job.stateBuffer, job.dimensions);
  const plane = new DataPlane({
    core,
    state,
    routes: { peerAt: () => job.peer },
    events: { wantHandshake: () => {}, keypairConfirmed: () => {} },
    send: () => {},
    writer: job.worker,
    mtu: 1420,
    nonceAddress: job.arenaAt,
    scratchAddress: job.arenaAt + 64,
    stats: { transportDropped: 0, replayedTransport: 0, spoofedSource: 0, noRoute: 0 },
  });
  const packetAt = job.arenaAt + 64 + dataPlaneScratchBytes(1420);
  const packet = core.bytes.subarray(packetAt + 16, packetAt + 16 + 1420);
  packet[0] = 0x45;
  packet.set([10, 99, 0, 1, 10, 99, 0, 2], 12);
  const out = { length: 0, address: new Uint8Array(0), port: 0 };
  const control = new Int32Array(job.control);
  self.postMessage("ready");
  Atomics.wait(control, 0, 0);
  let sealed = 0;
  while (Atomics.load(control, 1) === 0) {
    for (let i = 0; i < 64; i++) {
      packet[0] = 0x45; // sealing overwrote it
      packet[2] = 1420 >> 8;
      packet[3] = 1420 & 0xff;
      packet.set([10, 99, 0, 1, 10, 99, 0, 2], 12);
      if (plane.sealInPlace(packetAt, 1420, 1, out)) sealed++;
    }
  }
  self.postMessage(sealed);
};
