/**
 * Membership state transitions: alive → suspect (our own probe failed) → dead (the Lifeguard
 * suspicion timeout ran out) → removed (retention ended) → forgotten (reconnect window
 * ended): when each happens, its timers, events and claims. The transitions themselves (lists,
 * dead set, live count N) are the MemberTable's.
 */

import { ItemKind } from "./constants.ts";
import { broadcast } from "./dissemination.ts";
import type { SwimState } from "./engine_state.ts";
import type { Member } from "./member.ts";
import { suspicionTimeout } from "./profiles.ts";
import { makeClaim } from "./records.ts";
import { Suspicion } from "./suspicion.ts";

/** Starts suspecting `member` (our probe failed) and gossips our signed claim. */
export function suspect(s: SwimState, member: Member): void {
  const c = s.config;
  const n = s.members.aliveCount + 1;
  const min = suspicionTimeout(c, n);
  let k = c.lifeguard ? c.suspicionMult - 2 : 0;
  if (n - 2 < k) k = 0;
  const max = c.lifeguard ? c.suspicionMaxTimeoutMult * min : min;
  member.suspicion = new Suspicion(s.selfId, k, min, max, s.now);
  if (c.lifeguard && member.claims !== null) {
    for (const claimer of member.claims) member.suspicion.confirm(claimer);
  }
  s.members.suspect(member, s.now);
  armSuspicionTimer(s, member);
  s.events.push({ type: "suspect", member: s.members.info(member) });
  const claim = makeClaim(s.crypto, ItemKind.Suspect, member.key, member.epoch, member.incarnation);
  broadcast(s, "c" + member.id + s.selfId, claim.bytes);
}

/** (Re)schedules the end of `member`'s suspicion at its current deadline; then it is dead. */
export function armSuspicionTimer(s: SwimState, member: Member): void {
  cancelTimer(member);
  const suspicion = member.suspicion!;
  member.timer = s.timers.add(suspicion.deadline, () => {
    member.timer = null;
    if (member.state !== "suspect" || member.suspicion !== suspicion) return;
    member.suspicion = null;
    s.members.declareDead(member, s.now);
    s.events.push({ type: "dead", member: s.members.info(member) });
    const claim = makeClaim(s.crypto, ItemKind.Dead, member.key, member.epoch, member.incarnation);
    broadcast(s, "c" + member.id + s.selfId, claim.bytes);
    scheduleRemoval(s, member);
  });
}

/** Unlists a dead or left member after the retention time, and forgets it later still. */
export function scheduleRemoval(s: SwimState, member: Member): void {
  cancelTimer(member);
  const since = s.members.stateSince(member);
  member.timer = s.timers.add(s.now + s.config.deadRetention, () => {
    member.timer = null;
    if (
      s.members.stateSince(member) !== since || (member.state !== "dead" && member.state !== "left")
    ) return;
    s.members.remove(member);
    s.events.push({ type: "removed", member: s.members.info(member) });
    // Keep the tombstone (its version) while we still try to reconnect, then forget it.
    member.timer = s.timers.add(s.now + s.config.reconnectTimeout, () => {
      if (member.removed && s.members.stateSince(member) === since) s.members.forget(member);
    });
  });
}

/** Cancels `member`'s suspicion or retention timer, if any. */
export function cancelTimer(member: Member): void {
  if (member.timer !== null) member.timer.cancelled = true;
  member.timer = null;
}
