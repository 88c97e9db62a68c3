/**
 * Per-member session keys: the pairwise X25519 secret (computed once per member) and the send and
 * receive keys derived from it for the current pair of boot epochs (wire_format.md, "Session
 * key"), cached in the member's SessionTable slot. A restart of either side changes the key,
 * so counters may restart at 0.
 */

import type { SwimState } from "./engine_state.ts";
import type { Member } from "./member.ts";
import { NO_SESSION } from "./session_table.ts";

function shared(s: SwimState, member: Member, slot: number): Uint8Array | null {
  if (slot === NO_SESSION) return s.crypto.sharedSecret(member.key);
  const sessions = s.members.sessions;
  let secret = sessions.shared(slot);
  if (secret === undefined) {
    secret = s.crypto.sharedSecret(member.key);
    sessions.setShared(slot, secret);
  }
  return secret;
}

/** Our send key to `member` (one in the table) for its current epoch (null for a degenerate key). */
export function txKey(s: SwimState, member: Member): Uint8Array | null {
  const slot = s.members.contacts.sessionOf(member);
  const cache = s.crypto.cheapKeys !== true;
  const sessions = s.members.sessions;
  const cached = cache ? sessions.txKey(slot, member.latestEpoch) : null;
  if (cached !== null) return cached;
  const secret = shared(s, member, cache ? slot : NO_SESSION);
  if (secret === null) return null;
  const key = s.crypto.sessionKey(
    secret,
    s.crypto.publicKey,
    member.key,
    s.epoch,
    member.latestEpoch,
  );
  if (cache) sessions.setTxKey(slot, member.latestEpoch, key);
  return key;
}

/**
 * The key `member` sends to us with from its epoch `senderEpoch` (null for a degenerate key).
 * Cached only for a member with a session slot: a candidate's key is derived and dropped.
 */
export function rxKey(s: SwimState, member: Member, senderEpoch: number): Uint8Array | null {
  // Uncached keys are derived as for a member without a slot.
  const slot = s.crypto.cheapKeys === true ? NO_SESSION : member.sessionSlot;
  const sessions = s.members.sessions;
  if (slot !== NO_SESSION) {
    const cached = sessions.rxKey(slot, senderEpoch);
    if (cached !== null) return cached;
  }
  const secret = shared(s, member, slot);
  if (secret === null) return null;
  const key = s.crypto.sessionKey(secret, member.key, s.crypto.publicKey, senderEpoch, s.epoch);
  if (slot !== NO_SESSION) sessions.setRxKey(slot, senderEpoch, key);
  return key;
}

/** Caches `key` as the receive key of a member that just got its session slot. */
export function keepRxKey(s: SwimState, slot: number, senderEpoch: number, key: Uint8Array): void {
  if (s.crypto.cheapKeys === true) return;
  s.members.sessions.setRxKey(slot, senderEpoch, key);
}
