/**
 * Epochs: a random 32-byte secret each, ids counting up by one per rotation (kept across
 * restarts by the store), boundaries aligned to the wall clock (multiples of the length since
 * the Unix epoch), and the next epoch drawn ahead so its keys can be served before it starts.
 */

import { EPOCH_SECRET_LENGTH } from "./pairwise_psk.ts";

/** One epoch. `secret` never leaves the controller (logs show `secretHash` only). */
export interface EpochRecord {
  id: number;
  startMs: number;
  endMs: number;
  secret: Uint8Array;
}

/** The aligned boundary at or before `nowMs`. */
export function alignedStart(nowMs: number, lengthMs: number): number {
  return Math.floor(nowMs / lengthMs) * lengthMs;
}

/**
 * The epoch after `previous` (null: the first). It starts where `previous` ends when that is
 * still ahead of or at `nowMs`; otherwise (the controller was down, or a forced rotation) at
 * `nowMs`, ending on the first aligned boundary at least half an epoch away.
 */
export function followingEpoch(
  previous: EpochRecord | null,
  nowMs: number,
  lengthMs: number,
  random: (bytes: Uint8Array) => void,
): EpochRecord {
  const secret = new Uint8Array(EPOCH_SECRET_LENGTH);
  random(secret);
  const id = (previous?.id ?? 0) + 1;
  if (previous !== null && previous.endMs >= nowMs) {
    return { id, startMs: previous.endMs, endMs: previous.endMs + lengthMs, secret };
  }
  let endMs = alignedStart(nowMs, lengthMs) + lengthMs;
  if (endMs - nowMs < lengthMs / 2) endMs += lengthMs;
  return { id, startMs: nowMs, endMs, secret };
}
