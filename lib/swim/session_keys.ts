/**
 * Per-peer session keys: the pairwise X25519 secret (computed once per peer) and the send and
 * receive keys derived from it for the current pair of boot epochs (wire_format.md, "Session
 * key"). A restart of either side changes the key, so counters may restart at 0.
 */

import type { SwimState } from "./engine_state.ts";
import type { Peer } from "./peer.ts";

function shared(s: SwimState, peer: Peer): Uint8Array | null {
  const session = peer.sessionState();
  if (session.shared === undefined) session.shared = s.crypto.sharedSecret(peer.key);
  return session.shared;
}

/** Our send key to `peer` for its current epoch (null for a degenerate key). */
export function txKey(s: SwimState, peer: Peer): Uint8Array | null {
  const session = peer.sessionState();
  if (session.txKey !== null && session.txKeyEpoch === peer.peerEpoch) return session.txKey;
  const secret = shared(s, peer);
  if (secret === null) return null;
  session.txKey = s.crypto.sessionKey(
    secret,
    s.crypto.publicKey,
    peer.key,
    s.epoch,
    peer.peerEpoch,
  );
  session.txKeyEpoch = peer.peerEpoch;
  return session.txKey;
}

/** The key `peer` sends to us with from its epoch `senderEpoch` (null for a degenerate key). */
export function rxKey(s: SwimState, peer: Peer, senderEpoch: number): Uint8Array | null {
  const session = peer.sessionState();
  if (session.rxKey !== null && session.rxKeyEpoch === senderEpoch) return session.rxKey;
  const secret = shared(s, peer);
  if (secret === null) return null;
  const key = s.crypto.sessionKey(secret, peer.key, s.crypto.publicKey, senderEpoch, s.epoch);
  // Only cache the newest epoch's key: an older epoch is refused by the replay window anyway.
  if (senderEpoch >= session.rxKeyEpoch) {
    session.rxKey = key;
    session.rxKeyEpoch = senderEpoch;
  }
  return key;
}
