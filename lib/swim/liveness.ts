/**
 * Membership state transitions: alive → suspect (our own probe failed) → dead (the Lifeguard
 * suspicion timeout ran out) → removed (retention ended) → forgotten (reconnect window
 * ended), plus the bookkeeping every change needs (the dead set, the live count N).
 */

import { ItemKind } from "./constants.ts";
import { broadcast } from "./dissemination.ts";
import type { SwimState } from "./engine_state.ts";
import { forgetPeer, listRemove } from "./member_table.ts";
import type { Peer } from "./peer.ts";
import { suspicionTimeout } from "./profiles.ts";
import { makeClaim } from "./records.ts";
import { Suspicion } from "./suspicion.ts";

/** Moves `peer` to `state` now. */
export function setState(s: SwimState, peer: Peer, state: Peer["state"]): void {
  if (state === "dead") s.dead.add(peer);
  else s.dead.delete(peer);
  peer.state = state;
  peer.stateSince = s.now;
  recount(s, peer);
}

/** Keeps `aliveCount` (the N in every log10 N formula) in step with one peer. */
function recount(s: SwimState, peer: Peer): void {
  const alive = peer.isMember && peer.state === "alive";
  if (alive !== peer.countedAlive) {
    s.aliveCount += alive ? 1 : -1;
    peer.countedAlive = alive;
  }
}

/** Starts suspecting `peer` (our probe failed) and gossips our signed claim. */
export function suspect(s: SwimState, peer: Peer): void {
  const c = s.config;
  const n = s.aliveCount + 1;
  const min = suspicionTimeout(c, n);
  let k = c.lifeguard ? c.suspicionMult - 2 : 0;
  if (n - 2 < k) k = 0;
  const max = c.lifeguard ? c.suspicionMaxTimeoutMult * min : min;
  peer.suspicion = new Suspicion(s.selfId, k, min, max, s.now);
  if (c.lifeguard && peer.claims !== null) {
    for (const claimer of peer.claims) peer.suspicion.confirm(claimer);
  }
  setState(s, peer, "suspect");
  armSuspicionTimer(s, peer);
  s.events.push({ type: "suspect", member: peer.info() });
  const claim = makeClaim(s.crypto, ItemKind.Suspect, peer.key, peer.epoch, peer.incarnation);
  broadcast(s, "c" + peer.id + s.selfId, claim.bytes);
}

/** (Re)schedules the end of `peer`'s suspicion at its current deadline; then it is dead. */
export function armSuspicionTimer(s: SwimState, peer: Peer): void {
  cancelTimer(peer);
  const suspicion = peer.suspicion!;
  peer.timer = s.timers.add(suspicion.deadline, () => {
    peer.timer = null;
    if (peer.state !== "suspect" || peer.suspicion !== suspicion) return;
    peer.suspicion = null;
    setState(s, peer, "dead");
    s.events.push({ type: "dead", member: peer.info() });
    const claim = makeClaim(s.crypto, ItemKind.Dead, peer.key, peer.epoch, peer.incarnation);
    broadcast(s, "c" + peer.id + s.selfId, claim.bytes);
    scheduleRemoval(s, peer);
  });
}

/** Unlists a dead or left member after the retention time, and forgets it later still. */
export function scheduleRemoval(s: SwimState, peer: Peer): void {
  cancelTimer(peer);
  const since = peer.stateSince;
  peer.timer = s.timers.add(s.now + s.config.deadRetention, () => {
    peer.timer = null;
    if (peer.stateSince !== since || (peer.state !== "dead" && peer.state !== "left")) return;
    peer.removed = true;
    recount(s, peer);
    listRemove(s, peer);
    s.events.push({ type: "removed", member: peer.info() });
    // Keep the tombstone (its version) while we still try to reconnect, then forget it.
    peer.timer = s.timers.add(s.now + s.config.reconnectTimeout, () => {
      if (peer.removed && peer.stateSince === since) forgetPeer(s, peer);
    });
  });
}

/** Cancels `peer`'s suspicion or retention timer, if any. */
export function cancelTimer(peer: Peer): void {
  if (peer.timer !== null) peer.timer.cancelled = true;
  peer.timer = null;
}
