/**
 * Dissemination: updates (records and claims) go into the broadcast queue and ride on every
 * outgoing message; a gossip timer pushes them to a few random members while any are
 * pending, so an idle cluster sends nothing extra.
 */

import { MAX_INCARNATION, MessageType } from "./constants.ts";
import type { SwimState } from "./engine_state.ts";
import { send } from "./outbound.ts";
import { ownedBytes } from "./records.ts";

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
  for (const member of s.members.gossipTargets(s.config.gossipNodes)) {
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
