/**
 * Per-member session keys: the pairwise X25519 secret (computed once per member) and the send and
 * receive keys derived from it for the current pair of boot epochs (wire_format.md, "Session
 * key"). A restart of either side changes the key, so counters may restart at 0.
 */

import type { SwimState } from "./engine_state.ts";
import type { Member } from "./member.ts";

function shared(s: SwimState, member: Member): Uint8Array | null {
  const session = member.sessionState();
  if (session.shared === undefined) session.shared = s.crypto.sharedSecret(member.key);
  return session.shared;
}

/** Our send key to `member` for its current epoch (null for a degenerate key). */
export function txKey(s: SwimState, member: Member): Uint8Array | null {
  const session = member.sessionState();
  if (session.txKey !== null && session.txKeyEpoch === member.latestEpoch) return session.txKey;
  const secret = shared(s, member);
  if (secret === null) return null;
  session.txKey = s.crypto.sessionKey(
    secret,
    s.crypto.publicKey,
    member.key,
    s.epoch,
    member.latestEpoch,
  );
  session.txKeyEpoch = member.latestEpoch;
  return session.txKey;
}

/** The key `member` sends to us with from its epoch `senderEpoch` (null for a degenerate key). */
export function rxKey(s: SwimState, member: Member, senderEpoch: number): Uint8Array | null {
  const session = member.sessionState();
  if (session.rxKey !== null && session.rxKeyEpoch === senderEpoch) return session.rxKey;
  const secret = shared(s, member);
  if (secret === null) return null;
  const key = s.crypto.sessionKey(secret, member.key, s.crypto.publicKey, senderEpoch, s.epoch);
  // Only cache the newest epoch's key: an older epoch is refused by the replay window anyway.
  if (senderEpoch >= session.rxKeyEpoch) {
    session.rxKey = key;
    session.rxKeyEpoch = senderEpoch;
  }
  return key;
}
