/**
 * The batch seal/open call the data plane uses: a table of 32-byte descriptors in wasm memory
 * (counter, key slot, message offset/length, AAD offset/length, status), processed in place in
 * one call. See wasm/src/batch.ts for the record format.
 */

import type { CryptoCore } from "./crypto_core.ts";
import { CryptoInputError } from "./errors.ts";
import { DESCRIPTOR_BYTES } from "./memory_layout.ts";

/** Per-descriptor outcome codes written by the module. */
export const BatchStatus = {
  /** Sealed, or opened and (if asked) accepted by the replay window. */
  OK: 0,
  /** Open: tag did not verify; the message bytes are unchanged. */
  AUTH_FAILED: 1,
  /** Open: authentic but replayed or outside the window; drop it. */
  REPLAYED: 2,
  /** Seal: counter reached REJECT_AFTER_MESSAGES; nothing written. */
  COUNTER_LIMIT: 3,
  /** Key slot index past the table. */
  BAD_KEY_SLOT: 4,
  /** Message, tag or AAD would run past the end of memory. */
  OUT_OF_BOUNDS: 5,
} as const;

/** One of the BatchStatus codes. */
export type BatchStatusCode = typeof BatchStatus[keyof typeof BatchStatus];

/** One packet for the batch API; `offset` is where the message sits in wasm memory. */
export interface BatchEntry {
  counter: bigint;
  keySlot: number;
  offset: number;
  length: number;
  aadOffset?: number;
  aadLength?: number;
}

/** A descriptor table of fixed capacity at a fixed address in the core's memory. */
export class DescriptorTable {
  /** Entries currently filled in. */
  count = 0;

  constructor(
    /** The core whose memory holds the table. */
    readonly core: CryptoCore,
    /** Address of descriptor 0. */
    readonly base: number,
    /** How many descriptors fit. */
    readonly capacity: number,
  ) {
    core.checkRange(base, capacity * DESCRIPTOR_BYTES);
  }

  /** Empties the table. */
  clear(): void {
    this.count = 0;
  }

  /** Appends a descriptor; returns its index. */
  push(entry: BatchEntry): number {
    if (this.count >= this.capacity) {
      throw new CryptoInputError(`descriptor table is full (${this.capacity} entries)`);
    }
    const at = this.base + this.count * DESCRIPTOR_BYTES;
    const v = this.core.view;
    v.setBigUint64(at, entry.counter, true);
    v.setUint32(at + 8, entry.keySlot, true);
    v.setUint32(at + 12, entry.offset, true);
    v.setUint32(at + 16, entry.length, true);
    v.setUint32(at + 20, entry.aadOffset ?? 0, true);
    v.setUint32(at + 24, entry.aadLength ?? 0, true);
    v.setUint32(at + 28, 0xffffffff, true);
    return this.count++;
  }

  /** Seals every entry in place (tag after each message); returns how many succeeded. */
  seal(): number {
    return this.core.exports.sealBatch(this.base, this.count);
  }

  /** Opens every entry in place, optionally through the replay window; returns how many passed. */
  open(checkReplay = false): number {
    return this.core.exports.openBatch(this.base, this.count, checkReplay ? 1 : 0);
  }

  /** The status the last seal/open left on entry `index`. */
  status(index: number): BatchStatusCode {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new CryptoInputError(`descriptor ${index} out of range 0..${this.count - 1}`);
    }
    return this.core.view.getUint32(
      this.base + index * DESCRIPTOR_BYTES + 28,
      true,
    ) as BatchStatusCode;
  }
}
