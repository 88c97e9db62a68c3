/**
 * One instance of the packet core bound to a shared memory and to its own scratch area. Each
 * worker makes its own CryptoCore (same module, same memory, different instance index).
 */

import { type CoreExports, type CoreVariant, loadCoreModule } from "./core_module.ts";
import { CryptoInputError, CryptoLayoutError } from "./errors.ts";
import {
  createCoreMemory,
  KEY_SLOT_BYTES,
  type MemoryLayout,
  type MemoryLayoutOptions,
  planMemoryLayout,
  REPLAY_SLOT_BYTES,
  SCRATCH_BYTES,
  scratchAddress,
} from "./memory_layout.ts";

/** Options for CryptoCore.create, the single-instance convenience constructor. */
export interface CryptoCoreOptions extends MemoryLayoutOptions {
  /** Which build to run. Default "simd". */
  variant?: CoreVariant;
}

/** A core instance: its exports plus views of the shared memory. */
export class CryptoCore {
  /** The raw module exports (pointer API). */
  readonly exports: CoreExports;
  /** The whole linear memory as bytes; valid forever because the memory never grows. */
  readonly bytes: Uint8Array;
  /** The whole linear memory for little-endian word access. */
  readonly view: DataView;
  /** Address of this instance's staging area (used by the byte-array convenience API). */
  readonly stagingBase: number;

  private constructor(
    /** The shared memory. */
    readonly memory: WebAssembly.Memory,
    /** The layout the memory was made for. */
    readonly layout: MemoryLayout,
    /** This instance's index in the layout's instance areas. */
    readonly instanceIndex: number,
    instance: WebAssembly.Instance,
  ) {
    this.exports = instance.exports as unknown as CoreExports;
    this.bytes = new Uint8Array(memory.buffer);
    this.view = new DataView(memory.buffer);
    this.stagingBase = scratchAddress(layout, instanceIndex) + SCRATCH_BYTES;
    if (this.exports.scratchBytes() !== SCRATCH_BYTES) {
      throw new CryptoLayoutError(
        `module scratch is ${this.exports.scratchBytes()} B but memory_layout.ts says ${SCRATCH_BYTES}; rebuild wasm or fix the layout`,
      );
    }
    if (this.exports.replaySlotBytes() !== REPLAY_SLOT_BYTES) {
      throw new CryptoLayoutError(
        `module replay slot is ${this.exports.replaySlotBytes()} B but memory_layout.ts says ${REPLAY_SLOT_BYTES}`,
      );
    }
    this.exports.setScratch(scratchAddress(layout, instanceIndex));
    this.exports.setTables(
      layout.keySlotBase,
      layout.keySlots,
      layout.replaySlotBase,
      layout.replaySlots,
    );
  }

  /** Instantiates `module` against an existing shared `memory` as instance `instanceIndex`. */
  static instantiate(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    layout: MemoryLayout,
    instanceIndex: number,
  ): CryptoCore {
    if (memory.buffer.byteLength < layout.pages * 65536) {
      throw new CryptoLayoutError(
        `memory has ${memory.buffer.byteLength} bytes but the layout needs ${layout.pages} pages`,
      );
    }
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    return new CryptoCore(memory, layout, instanceIndex, instance);
  }

  /** Makes a fresh shared memory for `options` and instance 0 on it. */
  static async create(options: CryptoCoreOptions = {}): Promise<CryptoCore> {
    const layout = planMemoryLayout(options);
    const module = await loadCoreModule(options.variant ?? "simd");
    return CryptoCore.instantiate(module, createCoreMemory(layout), layout, 0);
  }

  /** True when this instance runs the SIMD build. */
  get simd(): boolean {
    return this.exports.hasSimd() === 1;
  }

  /** Address of key slot `slot`. */
  keySlotAddress(slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.layout.keySlots) {
      throw new CryptoInputError(
        `key slot ${slot} out of range 0..${this.layout.keySlots - 1}`,
      );
    }
    return this.layout.keySlotBase + slot * KEY_SLOT_BYTES;
  }

  /** Stores a 32-byte key in `slot` for the batch API. */
  setKey(slot: number, key: Uint8Array): void {
    if (key.length !== KEY_SLOT_BYTES) {
      throw new CryptoInputError(`a key slot holds a 32-byte key, got ${key.length} bytes`);
    }
    this.bytes.set(key, this.keySlotAddress(slot));
  }

  /** Zeroes `slot` (a dropped key must not linger in shared memory). */
  clearKey(slot: number): void {
    const at = this.keySlotAddress(slot);
    this.bytes.fill(0, at, at + KEY_SLOT_BYTES);
  }

  /** Throws unless `len` bytes at `ptr` lie inside the memory. */
  checkRange(ptr: number, len: number): void {
    if (
      !Number.isInteger(ptr) || !Number.isInteger(len) || ptr < 0 || len < 0 ||
      ptr + len > this.bytes.length
    ) {
      throw new CryptoInputError(
        `range [${ptr}, ${ptr}+${len}) is outside the ${this.bytes.length}-byte core memory`,
      );
    }
  }
}
