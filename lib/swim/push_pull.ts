/**
 * Push-pull anti-entropy: now and then a page of our records goes to a random member, which
 * answers with a page of its own; a joiner pages through the first member that answers
 * (SYNC_FULL) until SYNC_DONE. Pages start at a random index so large tables mix over time.
 */

import { MessageType } from "./constants.ts";
import type { SwimState } from "./engine_state.ts";
import { randomMembers } from "./member_table.ts";
import { FLAG_SYNC_DONE, FLAG_SYNC_FULL, itemBudget } from "./message_body.ts";
import { send } from "./outbound.ts";
import type { Peer } from "./peer.ts";

/** The periodic push-pull timer: sends one page to a random member and reschedules itself. */
export function pushPull(s: SwimState): void {
  s.timers.add(s.now + s.config.pushPullInterval, () => pushPull(s));
  if (s.leaving) return;
  const [peer] = randomMembers(s, 1, null);
  if (peer === undefined) return;
  const total = s.list.length + 1;
  const start = Math.floor(s.random() * total);
  const { items } = page(s, start, itemBudget(MessageType.SyncRequest));
  const cursor = Math.floor(s.random() * 0xffff_ffff);
  send(s, peer, MessageType.SyncRequest, cursor, 0, null, items, null, false);
}

/** Starts paging through `peer`'s whole membership, offering our record first. */
export function startFullSync(s: SwimState, peer: Peer): void {
  s.fullSyncWith = peer.id;
  send(s, peer, MessageType.SyncRequest, 0, FLAG_SYNC_FULL, null, [s.record.bytes]);
}

/** Answers a sync request with the page at its cursor. */
export function onSyncRequest(s: SwimState, peer: Peer, cursor: number, flags: number): void {
  const full = (flags & FLAG_SYNC_FULL) !== 0;
  const size = s.list.length + 1;
  const startAt = full ? cursor : cursor % size;
  const { items, next, done } = page(s, startAt, itemBudget(MessageType.SyncResponse));
  send(
    s,
    peer,
    MessageType.SyncResponse,
    next,
    done ? FLAG_SYNC_DONE : 0,
    null,
    items,
    null,
    false,
  );
}

/** A sync page arrived (its items are already applied): asks for the next one of a full sync. */
export function onSyncResponse(s: SwimState, peer: Peer, next: number, flags: number): void {
  if (s.fullSyncWith !== peer.id) return;
  if ((flags & FLAG_SYNC_DONE) !== 0) s.fullSyncWith = null;
  else send(s, peer, MessageType.SyncRequest, next, FLAG_SYNC_FULL, null, []);
}

/** Our records from index `start` (index 0 is ourselves) that fit `budget`. */
function page(
  s: SwimState,
  start: number,
  budget: number,
): { items: Uint8Array[]; next: number; done: boolean } {
  const items: Uint8Array[] = [];
  let index = start;
  const total = s.list.length + 1;
  while (index < total) {
    const bytes = index === 0 ? s.record.bytes : s.list[index - 1].record!.bytes;
    if (bytes.length > budget) break;
    items.push(bytes);
    budget -= bytes.length;
    index++;
  }
  return { items, next: index, done: index >= total };
}
