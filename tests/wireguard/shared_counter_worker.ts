/// <reference lib="deno.worker" />
/** Worker for shared_counter_test.ts: takes send counters from one keypair until it runs out. */

import { type DataPlaneDimensions, DataPlaneState } from "../../lib/wireguard/data_plane_state.ts";

self.onmessage = (
  event: MessageEvent<
    { buffer: SharedArrayBuffer; dimensions: DataPlaneDimensions; limit: number }
  >,
) => {
  const state = DataPlaneState.attach(event.data.buffer, event.data.dimensions);
  const taken: number[] = [];
  for (;;) {
    const counter = state.takeSendCounter(0, event.data.limit);
    if (counter < 0) break;
    taken.push(counter);
  }
  self.postMessage(taken);
};
