/**
 * WireGuard's anti-replay window with the Linux kernel's semantics, kept in shared memory
 * (one slot per receiving keypair; slot i belongs to key slot i) and guarded by a spinlock, so
 * any worker may validate any keypair's counters.
 */

import type { CryptoCore } from "./crypto_core.ts";
import { CryptoInputError } from "./errors.ts";

/** Bits in the window's bitmap ring (wasm/src/replay.ts). */
export const COUNTER_BITS_TOTAL = 2048;
/** Ring bits that are always being recycled (one 64-bit word). */
export const COUNTER_REDUNDANT_BITS = 64;
/** How far behind the greatest accepted counter a packet is still accepted. */
export const COUNTER_WINDOW_SIZE = COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS;
/** Counters at or past this are never accepted (kernel: U64_MAX - COUNTER_WINDOW_SIZE - 1). */
export const REJECT_AFTER_MESSAGES: bigint = 0xffff_ffff_ffff_ffffn -
  BigInt(COUNTER_WINDOW_SIZE) - 1n;

function checkSlot(core: CryptoCore, slot: number): void {
  if (!Number.isInteger(slot) || slot < 0 || slot >= core.layout.replaySlots) {
    throw new CryptoInputError(
      `replay slot ${slot} out of range 0..${core.layout.replaySlots - 1}`,
    );
  }
}

/** Empties the window of `slot`; call when a new receiving keypair takes the slot. */
export function replayReset(core: CryptoCore, slot: number): void {
  checkSlot(core, slot);
  core.exports.replayReset(slot);
}

/**
 * Validates `counter` against `slot`'s window: true (and recorded) the first time an in-window
 * counter below REJECT_AFTER_MESSAGES is seen, false for replays, stale and exhausted counters.
 */
export function replayCheck(core: CryptoCore, slot: number, counter: bigint): boolean {
  checkSlot(core, slot);
  if (counter < 0n || counter > 0xffff_ffff_ffff_ffffn) {
    throw new CryptoInputError(`counter must be a u64, got ${counter}`);
  }
  return core.exports.replayCheck(slot, BigInt.asIntN(64, counter)) === 1;
}
