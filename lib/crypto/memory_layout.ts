/**
 * Where everything lives in the shared linear memory of the packet core. wasm/LAYOUT.md is the
 * prose description; this file is the arithmetic. The memory never grows, so every view and
 * FFI pointer into it stays valid for the life of the process.
 */

import { CryptoLayoutError } from "./errors.ts";

/** Bytes of one wasm page. */
export const WASM_PAGE_BYTES = 65536;
/** Pages the module accepts at most (wasm/build.ts MAXIMUM_MEMORY_PAGES): 1 GiB. */
export const MAXIMUM_MEMORY_PAGES = 16384;
/** Low bytes left unused so that address 0 never names real data. */
export const RESERVED_BYTES = 4096;
/** Bytes of one key slot (a ChaCha20-Poly1305 key). */
export const KEY_SLOT_BYTES = 32;
/** Bytes of one replay-window slot (lock, counter, 2048-bit ring). */
export const REPLAY_SLOT_BYTES = 272;
/** Bytes of scratch the module itself uses per instance (wasm/src/scratch.ts). */
export const SCRATCH_BYTES = 4096;
/** Bytes of one batch descriptor (wasm/src/batch.ts). */
export const DESCRIPTOR_BYTES = 32;
/** Alignment of every region, one cache line. */
export const REGION_ALIGN = 64;

/** How much of each thing to reserve. */
export interface MemoryLayoutOptions {
  /** Key slots (32 B each). Default 1024. */
  keySlots?: number;
  /** Replay-window slots; slot i belongs to key slot i. Default: same as keySlots. */
  replaySlots?: number;
  /** Module instances (workers) that will share the memory. Default 4. */
  instances?: number;
  /** Per-instance staging bytes for the copy-in/copy-out convenience API. Default 128 KiB. */
  stagingBytes?: number;
  /** Packet arena bytes for the data plane (buffers and descriptor tables). Default 1 MiB. */
  arenaBytes?: number;
}

/** Absolute byte addresses and sizes of every region, plus the memory size in pages. */
export interface MemoryLayout {
  keySlotBase: number;
  keySlots: number;
  replaySlotBase: number;
  replaySlots: number;
  instanceBase: number;
  instances: number;
  /** Distance between two instances' areas: SCRATCH_BYTES + stagingBytes, aligned. */
  instanceStride: number;
  stagingBytes: number;
  arenaBase: number;
  arenaBytes: number;
  pages: number;
}

function alignUp(n: number): number {
  return Math.ceil(n / REGION_ALIGN) * REGION_ALIGN;
}

function count(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new CryptoLayoutError(`${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/** Computes the layout for the given options; throws CryptoLayoutError if it cannot fit. */
export function planMemoryLayout(options: MemoryLayoutOptions = {}): MemoryLayout {
  const keySlots = count("keySlots", options.keySlots ?? 1024, 1);
  const replaySlots = count("replaySlots", options.replaySlots ?? keySlots, 0);
  if (replaySlots > keySlots) {
    throw new CryptoLayoutError(
      `replaySlots (${replaySlots}) cannot exceed keySlots (${keySlots}): replay slot i belongs to key slot i`,
    );
  }
  const instances = count("instances", options.instances ?? 4, 1);
  const stagingBytes = alignUp(count("stagingBytes", options.stagingBytes ?? 131072, 0));
  const arenaBytes = alignUp(count("arenaBytes", options.arenaBytes ?? 1 << 20, 0));
  const keySlotBase = RESERVED_BYTES;
  const replaySlotBase = alignUp(keySlotBase + keySlots * KEY_SLOT_BYTES);
  const instanceBase = alignUp(replaySlotBase + replaySlots * REPLAY_SLOT_BYTES);
  const instanceStride = alignUp(SCRATCH_BYTES + stagingBytes);
  const arenaBase = instanceBase + instances * instanceStride;
  const pages = Math.ceil((arenaBase + arenaBytes) / WASM_PAGE_BYTES);
  if (pages > MAXIMUM_MEMORY_PAGES) {
    throw new CryptoLayoutError(
      `layout needs ${pages} pages but the module allows ${MAXIMUM_MEMORY_PAGES} (1 GiB); reduce arenaBytes, stagingBytes or slot counts`,
    );
  }
  return {
    keySlotBase,
    keySlots,
    replaySlotBase,
    replaySlots,
    instanceBase,
    instances,
    instanceStride,
    stagingBytes,
    arenaBase,
    arenaBytes,
    pages,
  };
}

/** Address of instance `index`'s scratch area (its staging area follows at +SCRATCH_BYTES). */
export function scratchAddress(layout: MemoryLayout, index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= layout.instances) {
    throw new CryptoLayoutError(
      `instance index ${index} out of range: the layout has ${layout.instances} instance areas`,
    );
  }
  return layout.instanceBase + index * layout.instanceStride;
}

/** Creates the fixed-size shared memory a layout describes (initial = maximum). */
export function createCoreMemory(layout: MemoryLayout): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: layout.pages, maximum: layout.pages, shared: true });
}
