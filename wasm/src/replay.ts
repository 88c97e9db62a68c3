// The WireGuard anti-replay window, with the Linux kernel's semantics (RFC 6479 style): a
// bitmap of COUNTER_BITS_TOTAL bits used as a ring of 64-bit words, one word of which is
// always being recycled, so COUNTER_WINDOW_SIZE = total - 64 counters behind the greatest one
// are tracked exactly. The stored counter is "greatest accepted + 1", so 0 means "none yet".
//
// Slot record (REPLAY_SLOT_BYTES, 16-byte aligned, zeroed = fresh window):
//   +0  u32 lock     spinlock; workers may validate the same keypair concurrently
//   +8  u64 counter  greatest accepted counter + 1
//   +16 u64[32]      the bitmap ring

import { replaySlotBase, replaySlotCount } from "./scratch";

/** Bits in the bitmap ring (the kernel's COUNTER_BITS_TOTAL before it moved to 8192). */
export const COUNTER_BITS_TOTAL: u32 = 2048;
/** One ring word is always being recycled (the kernel's COUNTER_REDUNDANT_BITS). */
export const COUNTER_REDUNDANT_BITS: u32 = 64;
/** How far behind the greatest accepted counter a packet may arrive and still be accepted. */
export const COUNTER_WINDOW_SIZE: u64 = COUNTER_BITS_TOTAL - COUNTER_REDUNDANT_BITS;
/** No counter at or past this is ever accepted (kernel: U64_MAX - COUNTER_WINDOW_SIZE - 1). */
export const REJECT_AFTER_MESSAGES: u64 = u64.MAX_VALUE - COUNTER_WINDOW_SIZE - 1;
/** Bytes of one replay slot record. */
export const REPLAY_SLOT_BYTES: u32 = 16 + (COUNTER_BITS_TOTAL >> 3);

const RING_WORDS: u64 = COUNTER_BITS_TOTAL >> 6;

function slotAddress(slot: u32): usize {
  return replaySlotBase + <usize> slot * REPLAY_SLOT_BYTES;
}

/** Empties the window of `slot` (a new keypair). */
export function replayResetCore(slot: u32): void {
  if (slot >= replaySlotCount) return;
  memory.fill(slotAddress(slot), 0, REPLAY_SLOT_BYTES);
}

/**
 * Accepts `theirCounter` at most once: 1 when it is new and inside the window (and records
 * it), 0 when it is a replay, too old, or at/after REJECT_AFTER_MESSAGES.
 */
export function replayCheckCore(slot: u32, theirCounter: u64): u32 {
  if (slot >= replaySlotCount) return 0;
  const s = slotAddress(slot);
  while (atomic.cmpxchg<u32>(s, 0, 1) != 0) {
    // Spin: the critical section is a few dozen instructions.
  }
  let ok: u32 = 0;
  const greatest = load<u64>(s, 8);
  if (greatest < REJECT_AFTER_MESSAGES + 1 && theirCounter < REJECT_AFTER_MESSAGES) {
    const c = theirCounter + 1;
    if (COUNTER_WINDOW_SIZE + c >= greatest) {
      const word = c >> 6;
      if (c > greatest) {
        // Moving forward: clear the ring words we skip over (at most the whole ring).
        const current = greatest >> 6;
        let skip = word - current;
        if (skip > RING_WORDS) skip = RING_WORDS;
        for (let i: u64 = 1; i <= skip; i++) {
          store<u64>(s + 16 + <usize> (((current + i) & (RING_WORDS - 1)) << 3), 0);
        }
        store<u64>(s, c, 8);
      }
      const at = s + 16 + <usize> ((word & (RING_WORDS - 1)) << 3);
      const bit: u64 = (<u64> 1) << (c & 63);
      const bits = load<u64>(at);
      ok = (bits & bit) == 0 ? 1 : 0;
      store<u64>(at, bits | bit);
    }
  }
  atomic.store<u32>(s, 0);
  return ok;
}
