// Batch seal/open over a descriptor table in linear memory: the data plane's per-packet call.
// One call handles N packets in place, so the JS↔wasm crossing and the nonce/key setup cost
// are paid per batch rather than per packet.
//
// Descriptor (DESCRIPTOR_BYTES = 32, little endian):
//   +0  u64 counter      WireGuard nonce counter; the AEAD nonce is 0^4 ‖ le64(counter)
//   +8  u32 keySlot      index into the key-slot table (32-byte keys); also the replay slot
//   +12 u32 offset       address of the message; its 16-byte tag follows it
//   +16 u32 length       message length without the tag
//   +20 u32 aadOffset    address of associated data (WireGuard transport data uses none)
//   +24 u32 aadLength
//   +28 u32 status       written by the call: one of the STATUS_* codes

import { openCore, sealCore, TAG_BYTES } from "./aead";
import { REJECT_AFTER_MESSAGES, replayCheckCore } from "./replay";
import { keySlotBase, keySlotCount, replaySlotCount, S_NONCE, scratchBase } from "./scratch";

/** Bytes of one descriptor. */
export const DESCRIPTOR_BYTES: u32 = 32;
/** Bytes of one key slot. */
export const KEY_SLOT_BYTES: u32 = 32;

/** Sealed or opened (and, if asked, accepted by the replay window). */
export const STATUS_OK: u32 = 0;
/** Open: the tag did not verify; the message bytes are unchanged. */
export const STATUS_AUTH_FAILED: u32 = 1;
/** Open: authentic, but the replay window rejected the counter; drop the (decrypted) packet. */
export const STATUS_REPLAYED: u32 = 2;
/** Seal: the counter reached REJECT_AFTER_MESSAGES; nothing was written. */
export const STATUS_COUNTER_LIMIT: u32 = 3;
/** The key slot index is past the configured table. */
export const STATUS_BAD_KEY_SLOT: u32 = 4;
/** The message, tag or AAD would reach past the end of memory. */
export const STATUS_OUT_OF_BOUNDS: u32 = 5;

/** Shared validation; returns the key address, or 0 after writing a failure status. */
function prepare(d: usize, replay: bool): usize {
  const slot = load<u32>(d, 8);
  if (slot >= keySlotCount || (replay && slot >= replaySlotCount)) {
    store<u32>(d, STATUS_BAD_KEY_SLOT, 28);
    return 0;
  }
  const end = <u64> memory.size() << 16;
  const dataEnd = <u64> load<u32>(d, 12) + <u64> load<u32>(d, 16) + TAG_BYTES;
  const aadEnd = <u64> load<u32>(d, 20) + <u64> load<u32>(d, 24);
  if (dataEnd > end || aadEnd > end) {
    store<u32>(d, STATUS_OUT_OF_BOUNDS, 28);
    return 0;
  }
  const nonce = scratchBase + S_NONCE;
  store<u32>(nonce, 0, 0);
  store<u64>(nonce, load<u64>(d, 0), 4);
  return keySlotBase + <usize> slot * KEY_SLOT_BYTES;
}

/** Seals `count` descriptors starting at `table`; returns how many got STATUS_OK. */
export function sealBatchCore(table: usize, count: u32): u32 {
  let good: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const d = table + <usize> i * DESCRIPTOR_BYTES;
    if (load<u64>(d, 0) >= REJECT_AFTER_MESSAGES) {
      store<u32>(d, STATUS_COUNTER_LIMIT, 28);
      continue;
    }
    const key = prepare(d, false);
    if (key == 0) continue;
    sealCore(
      key,
      scratchBase + S_NONCE,
      load<u32>(d, 20),
      load<u32>(d, 24),
      load<u32>(d, 12),
      load<u32>(d, 16),
    );
    store<u32>(d, STATUS_OK, 28);
    good++;
  }
  return good;
}

/**
 * Opens `count` descriptors starting at `table`; with `checkReplay` set, every authentic packet
 * is also run through the replay window of the slot with the same index as its key slot.
 * Returns how many got STATUS_OK.
 */
export function openBatchCore(table: usize, count: u32, checkReplay: u32): u32 {
  let good: u32 = 0;
  const replay = checkReplay != 0;
  for (let i: u32 = 0; i < count; i++) {
    const d = table + <usize> i * DESCRIPTOR_BYTES;
    const key = prepare(d, replay);
    if (key == 0) continue;
    const ok = openCore(
      key,
      scratchBase + S_NONCE,
      load<u32>(d, 20),
      load<u32>(d, 24),
      load<u32>(d, 12),
      load<u32>(d, 16),
    );
    if (!ok) {
      store<u32>(d, STATUS_AUTH_FAILED, 28);
      continue;
    }
    if (replay && !replayCheckCore(load<u32>(d, 8), load<u64>(d, 0))) {
      store<u32>(d, STATUS_REPLAYED, 28);
      continue;
    }
    store<u32>(d, STATUS_OK, 28);
    good++;
  }
  return good;
}
