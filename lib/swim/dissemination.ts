/**
 * Dissemination: updates (records and claims) go into the broadcast queue and ride on every
 * outgoing message; a gossip timer pushes them to a few random members while any are
 * pending, so an idle cluster sends nothing extra.
 */

import { MessageType } from "./constants.ts";
import type { SwimState } from "./engine_state.ts";
import { randomMembers } from "./member_table.ts";
import { send } from "./outbound.ts";

/** Queues an update for dissemination and makes sure the gossip timer runs. */
export function broadcast(s: SwimState, key: string, bytes: Uint8Array): void {
  s.queue.push(key, bytes);
  if (s.gossipArmed || !s.started) return;
  s.gossipArmed = true;
  const delay = s.config.gossipInterval * (0.5 + 0.5 * s.random());
  s.timers.add(s.now + delay, () => gossipTick(s));
}

/** The gossip timer runs only while updates are pending (idle clusters pay nothing). */
function gossipTick(s: SwimState): void {
  s.gossipArmed = false;
  if (s.queue.size === 0) return;
  for (const peer of randomMembers(s, s.config.gossipNodes, null)) {
    if (s.queue.size === 0) break;
    send(s, peer, MessageType.Gossip, 0, 0, null, []);
  }
  if (s.queue.size > 0) {
    s.gossipArmed = true;
    s.timers.add(s.now + s.config.gossipInterval, () => gossipTick(s));
  }
}

/**
 * Raises our incarnation above `seen`, re-signs our record and gossips it: how we refute a
 * claim about us and how a changed advert reaches everyone.
 */
export function reannounce(s: SwimState, seen: number): void {
  s.incarnation = Math.max(s.incarnation, seen) + 1;
  s.record = s.signRecord();
  broadcast(s, "r" + s.selfId, s.record.bytes);
}
