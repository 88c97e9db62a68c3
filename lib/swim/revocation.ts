/**
 * Revocation: when the trust set shrinks on a running node, every peer whose key is no longer
 * trusted is dropped at once — unlisted, its record and timers forgotten — instead of lingering
 * until its suspicion or retention runs out. The daemon tears its tunnel down on the event.
 *
 * The peer's session (our send counter, its replay window) is kept: the other side still
 * remembers the counters it has seen, and if trust comes back our messages must not look like
 * replays, nor may its old messages be replayed to us. Messages from an untrusted key never
 * reach the peer table, so the kept entry cannot be used to grow it.
 */

import type { SwimState } from "./engine_state.ts";
import { cancelTimer } from "./liveness.ts";
import { listRemove } from "./member_table.ts";

/** Forgets every member `s.trust` no longer admits; each listed one yields a "removed" event. */
export function forgetUntrusted(s: SwimState): number {
  let forgotten = 0;
  for (const [id, peer] of s.peers) {
    if (s.trust.isTrusted(peer.key, id)) continue;
    const wasMember = peer.isMember;
    if (peer.record === null && !wasMember) continue;
    cancelTimer(peer);
    peer.suspicion = null;
    peer.claims = null;
    // No record: pending probes, relays and the probe order skip it (they test isMember), and
    // if trust comes back its record is learnt afresh, as a join.
    peer.record = null;
    peer.epoch = 0;
    peer.incarnation = 0;
    peer.removed = true;
    if (peer.countedAlive) {
      s.aliveCount--;
      peer.countedAlive = false;
    }
    listRemove(s, peer);
    s.dead.delete(peer);
    if (s.fullSyncWith === id) s.fullSyncWith = null;
    if (wasMember) s.events.push({ type: "removed", member: peer.info() });
    forgotten++;
  }
  return forgotten;
}
