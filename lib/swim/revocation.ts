/**
 * Revocation: when the trust set shrinks on a running node, every peer whose key is no longer
 * trusted is dropped at once — unlisted, its timers and session forgotten — instead of lingering
 * until its suspicion or retention runs out. The daemon tears its tunnel down on the event.
 */

import type { SwimState } from "./engine_state.ts";
import { cancelTimer } from "./liveness.ts";
import { listRemove } from "./member_table.ts";

/** Forgets every peer `s.trust` no longer admits; each listed one yields a "removed" event. */
export function forgetUntrusted(s: SwimState): number {
  let forgotten = 0;
  for (const [id, peer] of s.peers) {
    if (s.trust.isTrusted(peer.key, id)) continue;
    const wasMember = peer.isMember;
    cancelTimer(peer);
    peer.suspicion = null;
    peer.session = null;
    // `removed` makes pending probes, relays and the probe order skip it (they test isMember).
    peer.removed = true;
    if (peer.countedAlive) {
      s.aliveCount--;
      peer.countedAlive = false;
    }
    listRemove(s, peer);
    s.dead.delete(peer);
    s.peers.delete(id);
    if (s.fullSyncWith === id) s.fullSyncWith = null;
    if (wasMember) s.events.push({ type: "removed", member: peer.info() });
    forgotten++;
  }
  return forgotten;
}
