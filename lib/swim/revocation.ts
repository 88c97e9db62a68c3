/**
 * Revocation: when the trust set shrinks on a running node, every member whose key is no longer
 * trusted is dropped at once — unlisted, its record and timers forgotten — instead of lingering
 * until its suspicion or retention runs out. The daemon tears its tunnel down on the event.
 *
 * The member's session (our send counter, its replay window) is kept: the other side still
 * remembers the counters it has seen, and if trust comes back our messages must not look like
 * replays, nor may its old messages be replayed to us. Messages from an untrusted key never
 * reach the member table, so the kept entry cannot be used to grow it.
 */

import type { SwimState } from "./engine_state.ts";
import { cancelTimer } from "./liveness.ts";
import { Member } from "./member.ts";

/** Forgets every member `s.trust` no longer admits; each listed one yields a "removed" event. */
export function forgetUntrusted(s: SwimState): number {
  let forgotten = 0;
  for (const entry of s.members.entries()) {
    const id = entry.id;
    if (s.trust.isTrusted(entry instanceof Member ? entry.key : entry.subject, id)) continue;
    const member = s.members.get(id)!;
    const wasListed = member.isListed;
    if (member.record === null && !wasListed) continue;
    cancelTimer(member);
    member.suspicion = null;
    member.claims = null;
    // No record: pending probes, relays and the probe order skip it (they test isListed), and
    // if trust comes back its record is learnt afresh, as a join.
    s.members.revoke(member);
    if (s.fullSyncWith === id) s.fullSyncWith = null;
    if (wasListed) s.events.push({ type: "removed", member: s.members.info(member) });
    forgotten++;
  }
  return forgotten;
}
