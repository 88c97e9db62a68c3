/**
 * Push-pull anti-entropy: now and then a page of our records goes to a random member, which
 * answers with a page of its own; a joiner pages through the first member that answers
 * (SYNC_FULL) until SYNC_DONE, re-asking a page that does not come. Pages start at a random
 * index so large tables mix over time. A page is ~12× a bare request, so it goes only to an
 * address the member has proven (invariant 9) and within a per-member token bucket.
 */

import { gossipTargets } from "./member_picks.ts";
import { checkAddress, send } from "./outbound.ts";
import { MessageType } from "./constants.ts";
import type { Address } from "./address.ts";
import type { SwimState } from "./engine_state.ts";
import { FLAG_SYNC_DONE, FLAG_SYNC_FULL, itemBudget } from "./message_body.ts";
import type { Member } from "./member.ts";
import { TokenBucket } from "./token_bucket.ts";

/**
 * Sync pages we send one member per second, and the burst: a joiner pages through 5,000
 * members (~560 pages of 9 records) in about 2 s; a flooding member gets ≤ 240 kB/s.
 */
export const SYNC_PAGES_PER_SECOND = 200;
/** See `SYNC_PAGES_PER_SECOND`. */
export const SYNC_PAGE_BURST = 200;
/** Times a joiner re-asks a page that did not come before leaving the rest to push-pull. */
const SYNC_RETRIES = 8;

/** The periodic push-pull timer: sends one page to a random member and reschedules itself. */
export function pushPull(s: SwimState): void {
  s.timers.add(s.now + s.config.pushPullInterval, () => pushPull(s));
  if (s.leaving) return;
  const [member] = gossipTargets(s.members, s.random, 1);
  if (member === undefined) return;
  const total = s.members.listed.length + 1;
  const start = Math.floor(s.random() * total);
  const { items } = page(s, start, itemBudget(MessageType.SyncRequest));
  const cursor = Math.floor(s.random() * 0xffff_ffff);
  send(s, member, MessageType.SyncRequest, cursor, 0, null, items, null, false);
}

/** Starts paging through `member`'s whole membership, offering our record first. */
export function startFullSync(s: SwimState, member: Member): void {
  s.fullSyncWith = member.id;
  member.syncCursor = -1;
  askPage(s, member, 0, [s.record.bytes]);
}

/** Asks `member` for the full-sync page at `cursor`, and again if it does not come. */
function askPage(s: SwimState, member: Member, cursor: number, items: Uint8Array[]): void {
  if (cursor !== member.syncCursor) {
    member.syncCursor = cursor;
    member.syncTries = 0;
  }
  const tries = member.syncTries;
  send(s, member, MessageType.SyncRequest, cursor, FLAG_SYNC_FULL, null, items);
  // The page can be lost, dropped by the rate limit, or held until our address verified.
  s.timers.add(s.now + s.config.probeTimeout, () => {
    if (
      s.fullSyncWith !== member.id || member.syncCursor !== cursor || member.syncTries !== tries
    ) {
      return;
    }
    if (++member.syncTries > SYNC_RETRIES) {
      s.fullSyncWith = null;
      return;
    }
    askPage(s, member, cursor, []);
  });
}

/**
 * A sync request from `member` that came from `from`: answered at once when `from` is its proven
 * address, else after a verification ping to `from` is acked (never to an unproven address).
 */
export function onSyncRequest(
  s: SwimState,
  member: Member,
  cursor: number,
  flags: number,
  from: Address,
): void {
  if (from !== member.verified) {
    member.syncPending = { cursor, flags };
    checkAddress(s, member, from);
    return s.drop("sync-unverified");
  }
  answerSync(s, member, cursor, flags);
}

/** Sends `member` the page at `cursor`, within its token bucket. */
export function answerSync(s: SwimState, member: Member, cursor: number, flags: number): void {
  const bucket = member.syncBucket ??= new TokenBucket(SYNC_PAGES_PER_SECOND, SYNC_PAGE_BURST);
  if (!bucket.take(s.now)) return s.drop("sync-rate");
  const full = (flags & FLAG_SYNC_FULL) !== 0;
  const size = s.members.listed.length + 1;
  const startAt = full ? cursor : cursor % size;
  const { items, next, done } = page(s, startAt, itemBudget(MessageType.SyncResponse));
  send(
    s,
    member,
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
export function onSyncResponse(s: SwimState, member: Member, next: number, flags: number): void {
  if (s.fullSyncWith !== member.id) return;
  if ((flags & FLAG_SYNC_DONE) !== 0) {
    s.fullSyncWith = null;
    member.syncCursor = -1;
    return;
  }
  // A retry can bring a page twice: only a page past the one we asked for moves us on.
  if (next <= member.syncCursor) return;
  askPage(s, member, next, []);
}

/** Our records from index `start` (index 0 is ourselves) that fit `budget`. */
function page(
  s: SwimState,
  start: number,
  budget: number,
): { items: Uint8Array[]; next: number; done: boolean } {
  const items: Uint8Array[] = [];
  let index = start;
  const total = s.members.listed.length + 1;
  while (index < total) {
    const bytes = index === 0 ? s.record.bytes : s.members.recordAt(index - 1).bytes;
    if (bytes.length > budget) break;
    items.push(bytes);
    budget -= bytes.length;
    index++;
  }
  return { items, next: index, done: index >= total };
}
