/**
 * Dissemination: updates (records and claims) go into the broadcast queue and ride on every
 * outgoing message; a gossip timer pushes them to a few random members while any are
 * pending, so an idle cluster sends nothing extra.
 */

import { MAX_INCARNATION, MessageType } from "./constants.ts";
import type { SwimState } from "./engine_state.ts";
import { gossipTargets } from "./member_picks.ts";
import { entryIsListed, entryRecord, entryState } from "./member_table.ts";
import { send } from "./outbound.ts";
import { NatType, ownedBytes } from "./records.ts";

/** Public members our new endpoints go to at once (see announceMoved). */
export const MOVED_ANNOUNCE_TARGETS = 4;

/** Queues an update for dissemination and makes sure the gossip timer runs. */
export function broadcast(s: SwimState, key: string, bytes: Uint8Array): void {
  s.queue.push(key, ownedBytes(bytes));
  if (s.gossipArmed || !s.started) return;
  s.gossipArmed = true;
  const delay = s.config.gossipInterval * (0.5 + 0.5 * s.random());
  s.timers.add(s.now + delay, () => gossipTick(s));
}

/** The gossip timer runs only while updates are pending (idle clusters pay nothing). */
function gossipTick(s: SwimState): void {
  s.gossipArmed = false;
  if (s.queue.size === 0) return;
  for (const member of gossipTargets(s.members, s.random, s.config.gossipNodes)) {
    if (s.queue.size === 0) break;
    send(s, member, MessageType.Gossip, 0, 0, null, []);
  }
  if (s.queue.size > 0) {
    s.gossipArmed = true;
    s.timers.add(s.now + s.config.gossipInterval, () => gossipTick(s));
  }
}

/**
 * Raises our incarnation above `seen`, re-signs our record and gossips it: how we refute a
 * claim about us and how a changed advert reaches everyone. At MAX_INCARNATION the version
 * cannot grow any more (a wrap would order our newest record below every older one): we
 * report it once and keep our record; only a new boot epoch (a restart) moves on. Reaching it
 * takes 2^32 refutations of our *current* version, which nobody but us can provoke faster
 * than one per accusation we hear, so it is unreachable in practice.
 */
export function reannounce(s: SwimState, seen: number): void {
  const next = Math.max(s.incarnation, seen) + 1;
  if (next > MAX_INCARNATION) {
    if (!s.incarnationExhausted) {
      s.incarnationExhausted = true;
      s.events.push({ type: "incarnation-exhausted" });
    }
    return;
  }
  s.incarnation = next;
  s.record = s.signRecord();
  broadcast(s, "r" + s.selfId, s.record.bytes);
}

/**
 * Our advertised endpoints changed (e.g. our NAT rebound to a new outside port): sends the new
 * record straight to a few public members on proven paths, besides gossiping it. Gossip alone
 * spends its few transmissions on random members, and every NATed one filters our new port
 * until a punch reopens it (which needs the new record first): in a mesh of mostly NATed
 * members the record could reach nobody, our old path's members suspected us, the suspicion
 * never reached us to refute, and the pair stayed broken until a push-pull (often > 60 s).
 * A public member hears us from any port, re-gossips the record and is the punch rendezvous.
 */
export function announceMoved(s: SwimState): void {
  let sent = 0;
  for (const id of s.members.proven) {
    if (sent >= MOVED_ANNOUNCE_TARGETS) break;
    // Ids, not Members (cold members have none): "" is a forgotten member's.
    const entry = id === "" ? undefined : s.members.peek(id);
    if (!entryIsListed(entry) || entryState(entry!) !== "alive") continue;
    const verified = s.members.verifiedOf(entry!);
    if (verified === null || entryRecord(entry!)?.nat !== NatType.Public) continue;
    const member = s.members.get(id)!;
    if (send(s, member, MessageType.Gossip, 0, 0, null, [s.record.bytes], verified, false) > 0) {
      sent++;
    }
  }
}
