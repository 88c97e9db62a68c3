/**
 * The send path: builds a message body, fills what room is left with pending updates
 * (piggybacking is how SWIM disseminates), seals it for the member and hands it to the outbox.
 * To an address the member has not proven (security invariant 9) it sends only what fits the
 * reply budget of the datagram that came from there, so it never amplifies, and asks that
 * address to prove itself with a verification ping (which goes through this same path, so
 * both live here; address_check.ts handles the answer).
 */

import { AEAD_TAG_BYTES, HEADER_BYTES, MessageType } from "./constants.ts";
import { datagramBuffer, sealInto } from "./datagram.ts";
import type { Address } from "./address.ts";
import type { SwimState } from "./engine_state.ts";
import {
  bodyBytes,
  bodyFixedBytes,
  encodeBodyInto,
  FLAG_INTRODUCE,
  itemBudget,
} from "./message_body.ts";
import type { Member } from "./member.ts";
import { retransmitLimit } from "./profiles.ts";
import { txKey } from "./session_keys.ts";

/** Where a message to `member` goes when the caller names no address. */
export function destination(member: Member): Address | null {
  return member.address ?? member.record?.endpoints[0] ?? null;
}

/**
 * Sends a `type` message to `member` (at `to`, else its known address) carrying `extra` items
 * first and, when `piggyback`, queued updates in the room left; returns how many of `extra`
 * went out. Silently skipped while we know no address or epoch for the member. To an unverified
 * address: no piggybacking, items only within the reply budget, and a verification ping first
 * when that held anything back.
 */
export function send(
  s: SwimState,
  member: Member,
  type: number,
  seq: number,
  flags: number,
  target: Uint8Array | null,
  extra: Uint8Array[],
  to: Address | null = null,
  piggyback = true,
): number {
  const address = to ?? destination(member);
  if (address === null || member.latestEpoch === 0) return 0;
  const key = txKey(s, member);
  if (key === null) return 0;
  let budget = itemBudget(type);
  const proven = address === member.verified;
  let withheld = false;
  if (!proven) {
    const room = address === s.replyTo ? s.replyBudget : 0;
    budget = Math.min(budget, room - HEADER_BYTES - AEAD_TAG_BYTES - bodyFixedBytes(type));
    withheld = piggyback && s.queue.size > 0;
    piggyback = false;
  }
  const items: Uint8Array[] = [];
  for (const item of extra) {
    if (item.length > budget || items.length >= 255) break;
    items.push(item);
    budget -= item.length;
  }
  const sentExtra = items.length;
  if (!proven) {
    // Something waits for this address to prove itself: ask it now (bare replies need not).
    if (withheld || sentExtra < extra.length) checkAddress(s, member, address);
    // Gossip without items says nothing; it would only be traffic to an unproven address.
    if (type === MessageType.Gossip && sentExtra === 0) return 0;
  }
  if (piggyback && s.queue.size > 0) {
    const limit = retransmitLimit(s.config.retransmitMult, s.members.aliveCount + 1);
    // A member's own record would tell it nothing, and spend a transmission others need (behind
    // NATs a joiner's record reached the member that joined just before it only at push-pull).
    const own = "r" + member.id;
    s.queue.takeInto(items, budget, limit, 255 - items.length, own);
  }
  if (member.wantsRecord) flags |= FLAG_INTRODUCE;
  const data = datagramBuffer(bodyBytes(type, items));
  encodeBodyInto(data, HEADER_BYTES, type, seq, flags, target, items);
  const counter = s.txCounter++;
  sealInto(s.crypto, key, data, type, s.epoch, member.latestEpoch, counter, member.key);
  // Verification pings are bounded by their own rate limit, not the reply budget.
  if (!proven && address === s.replyTo && type !== MessageType.Ping) {
    s.replyBudget -= data.length;
  }
  emit(s, address, data);
  return sentExtra;
}

/**
 * Sends one bare verification ping for `member` to `address`, at most once per probe interval
 * per member: the cost to a bystander named by a liar is one 86-byte datagram per interval.
 */
export function checkAddress(s: SwimState, member: Member, address: Address): void {
  if (
    address === member.verified ||
    s.now - s.members.contacts.lastCheck(member) < s.config.probeInterval
  ) {
    return;
  }
  s.members.contacts.noteCheck(member, s.now);
  const seq = s.nextSeq();
  s.members.contacts.setCheckSeq(member, seq);
  member.checkAddress = address;
  send(s, member, MessageType.Ping, seq, 0, null, [], address);
}

/** Hands a finished datagram to the outbox and counts it. */
export function emit(s: SwimState, to: Address, data: Uint8Array): void {
  s.stats.sent++;
  s.stats.sentBytes += data.length;
  s.outbox.push({ to, data });
}
