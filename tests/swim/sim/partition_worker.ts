/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
/// <reference lib="esnext" />
/**
 * A worker thread that runs one partition of a partitioned simulation: the first message is
 * its setup and index, each later one a command; it answers each with `{ ok, value }` or
 * `{ ok: false, error }` (and then fails the run, so no other partition waits for it).
 */

import { Partition, type PartitionCommand, type PartitionSetup } from "./partition.ts";

/** What the coordinator sends first. */
export interface PartitionStart {
  setup: PartitionSetup;
  index: number;
}

let partition: Partition | null = null;

self.onmessage = (event: MessageEvent<PartitionStart | PartitionCommand>) => {
  try {
    if (partition === null) {
      const start = event.data as PartitionStart;
      partition = new Partition(start.setup, start.index);
      self.postMessage({ ok: true, value: undefined });
      return;
    }
    const value = partition.handle(event.data as PartitionCommand);
    self.postMessage({ ok: true, value });
  } catch (error) {
    partition?.fail();
    self.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) });
  }
};
